import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidecarClient } from '../../ts/sidecar/client.ts';
import { rejection } from '../fixtures/errors.ts';
import { FakeRouter } from '../fixtures/fake-router.ts';

const dir = mkdtempSync(join(tmpdir(), 'client-test-'));
let router: FakeRouter;
let client: SidecarClient;

function newClient(maxMessageBytes = 1 << 20) {
  const endpoint = router.endpoint;
  return new SidecarClient({ endpoint, callTimeoutMs: 5000, maxMessageBytes });
}

// hello echoes its options, so a reply can be traced to its request.
const tagged = (tag: number, sleep_ms = 0, timeoutMs?: number) =>
  client
    .call('hello', { tag, sleep_ms } as object, [], { timeoutMs })
    .then((r) => (r.result as unknown as { echo: { tag: number } }).echo.tag);

beforeAll(async () => {
  router = await FakeRouter.bind(`ipc://${dir}/router.sock`, { inputSize: 8 });
  client = newClient();
});

afterAll(() => {
  client.close();
  router.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SidecarClient', () => {
  it('gives each of 100 concurrent calls its own answer', async () => {
    const calls = Array.from({ length: 100 }, (_, i) =>
      tagged(i, (i * 37) % 60),
    );
    expect(await Promise.all(calls)).toEqual([...Array(100).keys()]);
    expect(client.inFlight).toBe(0);
  });

  it('fails a call past its deadline with SIDECAR_TIMEOUT', async () => {
    const err = await rejection(tagged(1, 300, 50));
    expect(err.code).toBe('SIDECAR_TIMEOUT');
    expect(err.details).toMatchObject({ op: 'hello', timeoutMs: 50 });
  });

  it('drops a late reply instead of giving it to the next caller', async () => {
    const late = rejection(tagged(1, 200, 20));
    expect((await late).code).toBe('SIDECAR_TIMEOUT');
    // The next call is still waiting when the late reply arrives.
    const next = tagged(2, 400);
    expect(await next).toBe(2);
    expect(await tagged(3)).toBe(3);
  });

  it('rejects every pending call at once with failAll', async () => {
    const calls = [1, 2, 3].map((i) => rejection(tagged(i, 500)));
    await new Promise((r) => setTimeout(r, 20));
    expect(client.failAll('SIDECAR_DIED')).toBe(3);
    const codes = (await Promise.all(calls)).map((e) => e.code);
    expect(codes).toEqual(['SIDECAR_DIED', 'SIDECAR_DIED', 'SIDECAR_DIED']);
    expect(await tagged(4)).toBe(4);
  });

  it('refuses a message over the size limit with MESSAGE_TOO_LARGE', async () => {
    const small = newClient(4096);
    const before = router.received.length;
    const images = { data: new Uint8Array(2 * 32 * 32 * 3), n: 2, size: 32 };
    const err = await rejection(small.predict(images));
    expect(err.code).toBe('MESSAGE_TOO_LARGE');
    expect(router.received.length).toBe(before);
    small.close();
  });

  it('decodes predict logits and cams of N*S*S floats', async () => {
    const images = { data: new Uint8Array(3 * 8 * 8 * 3), n: 3, size: 8 };
    const out = await client.predict(images, ['gender', 'smile']);
    expect(out.logits.gender).toHaveLength(3);
    expect(out.cams.smile).toBeInstanceOf(Float32Array);
    expect(out.cams.smile).toHaveLength(3 * 8 * 8);
    expect(out.cams.gender).toHaveLength(3 * 8 * 8);
  });

  it('refuses images whose bytes do not fill N*S*S*3 with INTERNAL', async () => {
    const images = { data: new Uint8Array(10), n: 1, size: 8 };
    expect((await rejection(client.predict(images))).code).toBe('INTERNAL');
  });

  it('maps an unknown-op reply to SIDECAR_ERROR with the wire code', async () => {
    const err = await rejection(client.call('nope' as 'hello', {}));
    expect(err.code).toBe('SIDECAR_ERROR');
    expect(err.details?.sidecarCode).toBe('UNKNOWN_OP');
  });

  it('fails calls in flight with SIDECAR_DIED when closed', async () => {
    const own = newClient();
    const call = rejection(own.hello({ sleep_ms: 500 }));
    own.close();
    expect((await call).code).toBe('SIDECAR_DIED');
    expect((await rejection(own.hello())).code).toBe('SIDECAR_DIED');
  });
});

describe('SidecarClient when nobody reads', () => {
  it('fails calls beyond the full send queue at once with QUEUE_FULL', async () => {
    const endpoint = `ipc://${dir}/nobody.sock`;
    const own = new SidecarClient({
      endpoint,
      callTimeoutMs: 2000,
      maxMessageBytes: 1 << 20,
    });
    // zeromq queues 1000 messages (its default high-water mark), then refuses.
    const calls = Array.from({ length: 1100 }, () => rejection(own.hello()));
    const started = Date.now();
    const last = await calls[calls.length - 1];
    expect(last.code).toBe('QUEUE_FULL');
    expect(Date.now() - started).toBeLessThan(1000);
    own.close();
    const codes = new Set((await Promise.all(calls)).map((e) => e.code));
    expect(codes).toEqual(new Set(['QUEUE_FULL', 'SIDECAR_DIED']));
  });
});

describe('SidecarClient without a model on the other side', () => {
  it('maps NO_MODEL to MODEL_UNAVAILABLE', async () => {
    const bare = await FakeRouter.bind(`ipc://${dir}/bare.sock`, {
      inputSize: null,
    });
    const own = new SidecarClient({
      endpoint: bare.endpoint,
      callTimeoutMs: 5000,
      maxMessageBytes: 1 << 20,
    });
    const images = { data: new Uint8Array(8 * 8 * 3), n: 1, size: 8 };
    const err = await rejection(own.predict(images));
    expect(err.code).toBe('MODEL_UNAVAILABLE');
    expect(err.details?.sidecarCode).toBe('NO_MODEL');
    own.close();
    bare.close();
  });
});
