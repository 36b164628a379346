import { afterEach, describe, expect, it } from 'vitest';
import { SidecarSupervisor } from '../../ts/sidecar/index.ts';
import { testConfig } from '../fixtures/backends.ts';
import { rejection } from '../fixtures/errors.ts';
import { FakeRouter } from '../fixtures/fake-router.ts';

let router: FakeRouter | undefined;
let sc: SidecarSupervisor | undefined;

afterEach(async () => {
  await sc?.close();
  router?.close();
});

async function connected(callTimeoutMs = 20_000) {
  router = await FakeRouter.bind('tcp://127.0.0.1:*');
  const endpoint = router.endpoint;
  const config = testConfig({
    sidecar: { spawn: false, endpoint, callTimeoutMs },
  });
  sc = new SidecarSupervisor(config);
  await sc.start();
  return { sc, router, endpoint };
}

describe('SidecarSupervisor connected to a sidecar it did not start', () => {
  it('completes the handshake without spawning anything', async () => {
    const { sc } = await connected();
    expect(sc.ready).toBe(true);
    expect(sc.pid).toBeUndefined();
    expect(sc.card?.name).toBe('fake');
  });

  it('marks itself not ready after a call timeout and recovers by probing', async () => {
    const { sc } = await connected(100);
    const err = await rejection(sc.hello({ sleep_ms: 400 }));
    expect(err.code).toBe('SIDECAR_TIMEOUT');
    expect(sc.ready).toBe(false);
    expect((await rejection(sc.stats())).code).toBe('MODEL_UNAVAILABLE');
    await new Promise((r) => sc.once('ready', r));
    expect(sc.restarts).toBe(1);
    expect((await sc.stats()).served).toBeGreaterThan(0);
  });

  it('stays ready when a call given a shorter deadline misses it', async () => {
    const { sc } = await connected();
    const err = await rejection(sc.hello({ sleep_ms: 300 }, { timeoutMs: 50 }));
    expect(err.code).toBe('SIDECAR_TIMEOUT');
    expect(sc.ready).toBe(true);
    expect(sc.restarts).toBe(0);
  });

  it('fails calls in flight with SIDECAR_DIED when the sidecar goes away, and reconnects', async () => {
    const first = await connected();
    const call = rejection(first.sc.hello({ sleep_ms: 5000 }));
    await new Promise((r) => setTimeout(r, 50));
    first.router.close();
    expect((await call).code).toBe('SIDECAR_DIED');
    expect(first.sc.ready).toBe(false);

    router = await FakeRouter.bind(first.endpoint);
    await new Promise((r) => first.sc.once('ready', r));
    expect((await first.sc.hello()).protocol).toBe(1);
  });

  it('does not send shutdown to a sidecar it does not own', async () => {
    const { sc, router } = await connected();
    await sc.close();
    expect(router.received.map((h) => h.op)).not.toContain('shutdown');
  });
});
