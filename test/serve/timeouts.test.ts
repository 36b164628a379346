import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../ts/serve/app.ts';
import { DEFAULT_SERVER_SETTINGS } from '../../ts/serve/settings.ts';
import { StubAnalyzer } from './helpers/stub-analyzer.ts';

describe('a client that stops sending', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    app = await buildApp({
      analyzer: new StubAnalyzer({ faces: 1 }),
      settings: { ...DEFAULT_SERVER_SETTINGS, idleTimeoutMs: 400 },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app.close());

  it('has its connection closed once it has been silent for idleTimeoutMs', async () => {
    const started = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        // Promises 1,000 bytes, sends 10, then says nothing more.
        socket.write(
          'POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\n' +
            'Content-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n0123456789',
        );
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(Date.now() - started));
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept the stalled connection open'));
      }, 5000);
    });
    expect(closed).toBeGreaterThanOrEqual(350);
    expect(closed).toBeLessThan(5000);
  });

  it('still answers a client that sends its request in time', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('requests the HTTP parser rejects', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    app = await buildApp({
      analyzer: new StubAnalyzer({ faces: 1 }),
      settings: { ...DEFAULT_SERVER_SETTINGS },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app.close());

  /** Sends `raw` on a fresh socket; the whole answer once the server closes. */
  const exchange = (raw: string) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => socket.write(raw));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    });

  it.each([
    [
      'a malformed request line',
      'GARBAGE / HTTP/9.9\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'a non-numeric Content-Length',
      'POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'headers over the limit',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
  ])('answers %s with a JSON error', async (_what, raw, status, code) => {
    const answer = await exchange(raw);
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(head.toLowerCase()).toContain('content-type: application/json');
    expect(JSON.parse(body).error.code).toBe(code);
    // The server still answers normal requests.
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(ok.status).toBe(200);
  });
});
