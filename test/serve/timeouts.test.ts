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
