import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelCard, OpName, Task } from '../../ts/protocol/index.ts';
import {
  createSidecar,
  fakeCard,
  FakeSidecar,
  SidecarPool,
  SidecarSupervisor,
  startSidecar,
  workerConfigs,
  workerCount,
  type CallOptions,
  type FakeSidecarOptions,
  type ImageBatch,
  type Sidecar,
} from '../../ts/sidecar/index.ts';
import {
  memoryLogger,
  pythonSidecarMissing,
  testConfig,
} from '../fixtures/backends.ts';
import { rejection } from '../fixtures/errors.ts';
import { FakeRouter } from '../fixtures/fake-router.ts';

const batch = (n = 1, size = 8): ImageBatch => ({
  data: new Uint8Array(n * size * size * 3).fill(7),
  n,
  size,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many times `fake` was asked to run `op`. */
const count = (fake: FakeSidecar, op: OpName) =>
  fake.calls.filter((c) => c.op === op).length;

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/**
 * A fake whose restart can bring back another model than the one it
 * served, like a supervisor that restarts from its configured checkpoint.
 */
class RestartingFake extends FakeSidecar {
  #after: ModelCard | null | undefined;

  override get card(): ModelCard | null {
    return this.#after !== undefined ? this.#after : super.card;
  }

  /** Dies and comes back serving `card`. */
  restartWith(card: ModelCard | null): void {
    this.kill();
    this.#after = card;
    this.revive();
  }

  override loadModel(
    options: Parameters<FakeSidecar['loadModel']>[0],
    call?: CallOptions,
  ) {
    this.#after = undefined;
    return super.loadModel(options, call);
  }
}

/** A fake that records the deadline each predict was given. */
class DeadlineSpy extends FakeSidecar {
  readonly deadlines: (CallOptions | undefined)[] = [];

  override predict(images: ImageBatch, explain?: Task[], call?: CallOptions) {
    this.deadlines.push(call);
    return super.predict(images, explain, call);
  }
}

const pools: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function poolOf<T extends Sidecar>(members: T[], opts = {}) {
  const pool = new SidecarPool(members, opts);
  pools.push(pool);
  return pool;
}

function fakes(n: number, opts: FakeSidecarOptions = {}) {
  return Array.from({ length: n }, () => new RestartingFake(opts));
}

describe('SidecarPool routing', () => {
  it('sends each call to the least-loaded member', async () => {
    const slow = new FakeSidecar({ delayMs: { predict: 1000 } });
    const fast = new FakeSidecar();
    const pool = poolOf([slow, fast]);
    const held = pool.predict(batch());
    expect(pool.workers.map((w) => w.inFlight)).toEqual([1, 0]);
    for (let i = 0; i < 5; i++) await pool.predict(batch());
    expect(count(slow, 'predict')).toBe(1);
    expect(count(fast, 'predict')).toBe(5);
    await held;
    expect(pool.workers.map((w) => w.inFlight)).toEqual([0, 0]);
    expect(pool.workers.map((w) => w.calls)).toEqual([1, 5]);
  });

  it('spreads concurrent calls and breaks ties round robin', async () => {
    const members = fakes(3, { delayMs: 20 });
    const pool = poolOf(members);
    await Promise.all(Array.from({ length: 9 }, () => pool.predict(batch())));
    expect(members.map((m) => count(m, 'predict'))).toEqual([3, 3, 3]);
    for (let i = 0; i < 3; i++) await pool.detect(rgb());
    expect(members.map((m) => count(m, 'detect'))).toEqual([1, 1, 1]);
  });

  it("retries a dead member's predict once on another member", async () => {
    const { logger, lines } = memoryLogger();
    const [dying, healthy] = fakes(2, { delayMs: { predict: 1000 } });
    const pool = poolOf([dying, healthy], { logger });
    const call = pool.predict(batch(2));
    await sleep(20);
    dying.kill();
    const result = await call;
    expect(result.logits.gender).toHaveLength(2);
    expect(count(dying, 'predict')).toBe(1);
    expect(count(healthy, 'predict')).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ op: 'predict', from: 0, to: 1 }),
    );
  });

  it('retries only once, and only after SIDECAR_DIED', async () => {
    const members = fakes(3, { delayMs: { predict: 2000 } });
    const pool = poolOf(members);
    const call = rejection(pool.predict(batch()));
    await sleep(20);
    members[0].kill();
    await sleep(20);
    members[1].kill();
    expect((await call).code).toBe('SIDECAR_DIED');
    expect(count(members[2], 'predict')).toBe(0);

    members[2].failNext('hello', 'SIDECAR_ERROR', 'INTERNAL');
    expect((await rejection(pool.hello())).code).toBe('SIDECAR_ERROR');
    expect(count(members[2], 'hello')).toBe(1);
  });

  it('gives the retry only what is left of the deadline', async () => {
    const dying = new FakeSidecar({ delayMs: { predict: 5000 } });
    const healthy = new DeadlineSpy();
    const pool = poolOf([dying, healthy], { callTimeoutMs: 2000 });
    const call = pool.predict(batch());
    await sleep(50);
    dying.kill();
    await call;
    const left = healthy.deadlines[0]?.timeoutMs ?? Infinity;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(2000);
  });

  it('fails fast with MODEL_UNAVAILABLE when no member is ready', async () => {
    const members = fakes(2);
    const pool = poolOf(members);
    members.forEach((m) => m.kill());
    expect(pool.ready).toBe(false);
    const err = await rejection(pool.predict(batch()));
    expect(err.code).toBe('MODEL_UNAVAILABLE');
    expect(err.details).toMatchObject({ workers: 2, ready: 0 });
  });
});

describe('SidecarPool state and events', () => {
  it('is ready while any member is, and says so when it becomes ready', async () => {
    const [a, b] = fakes(2);
    const pool = poolOf([a, b]);
    const events: string[] = [];
    pool.on('ready', () => events.push('ready'));
    pool.on('exit', () => events.push('exit'));
    pool.on('restart', () => events.push('restart'));
    expect(pool.ready).toBe(true);
    a.kill();
    expect(pool.ready).toBe(true);
    b.kill();
    expect(pool.ready).toBe(false);
    b.revive();
    expect(pool.ready).toBe(true);
    a.revive();
    b.emit('restart', { attempt: 1, delayMs: 10 });
    expect(events).toEqual(['exit', 'exit', 'ready', 'restart']);
    expect(pool.restarts).toBe(2);
    expect(pool.card?.name).toBe('fake');
  });

  it('aggregates stats: rss and served summed, hooks the largest', async () => {
    const [a, b] = fakes(2);
    const pool = poolOf([a, b]);
    await Promise.all([a.hello(), a.hello(), b.hello()]);
    const one = await a.stats();
    const stats = await pool.stats();
    // a: 2 hellos + 2 stats, b: 1 hello + 1 stats (a fake counts the stats
    // call itself).
    expect(stats.served).toBe(6);
    expect(stats.rss_bytes).toBeGreaterThan(one.rss_bytes);
    expect(stats.hooks).toEqual({ gender: 1, smile: 1 });
    b.kill();
    expect((await pool.stats()).served).toBe(5);
  });

  it('leaves a member with another model out of routing, with a warning', async () => {
    const { logger, lines } = memoryLogger();
    const a = new FakeSidecar({ card: fakeCard(96) });
    const b = new FakeSidecar({ card: fakeCard(64) });
    const pool = poolOf([a, b], { logger });
    expect(pool.workers.map((w) => w.routable)).toEqual([true, false]);
    for (let i = 0; i < 4; i++) await pool.predict(batch());
    expect(count(b, 'predict')).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        worker: 1,
        msg: expect.stringContaining('another model') as unknown,
      }),
    );
    // The only ready worker has the other model: the pool follows it.
    a.kill();
    expect(pool.ready).toBe(true);
    expect(pool.card?.input_size).toBe(64);
    await pool.predict(batch());
    expect(count(b, 'predict')).toBe(1);
  });

  it('closes every member and then refuses calls', async () => {
    const members = fakes(2);
    const pool = new SidecarPool(members);
    await pool.close();
    expect(members.every((m) => !m.ready)).toBe(true);
    expect(pool.ready).toBe(false);
    expect((await rejection(pool.hello())).code).toBe('MODEL_UNAVAILABLE');
  });
});

describe('SidecarPool model changes and training', () => {
  it('sends loadModel to every member', async () => {
    const members = fakes(3);
    const pool = poolOf(members);
    const options = {
      arch: { backbone: 'fake', output_stride: 32, adapter_channels: 8 },
      input_size: 48,
      pretrained: null,
    };
    const { card } = await pool.loadModel(options);
    expect(card.input_size).toBe(48);
    for (const m of members) {
      expect(m.calls.filter((c) => c.op === 'load_model')).toEqual([
        { op: 'load_model', options },
      ]);
      expect(m.card?.input_size).toBe(48);
    }
    expect(pool.card?.input_size).toBe(48);
    expect(pool.workers.every((w) => w.routable)).toBe(true);
  });

  it('leaves out a member whose loadModel failed', async () => {
    const [a, b] = fakes(2);
    b.failNext('load_model', 'SIDECAR_ERROR', 'IO_ERROR');
    const pool = poolOf([a, b]);
    await pool.loadModel({ arch: a.card!.arch, input_size: 40 });
    expect(pool.workers.map((w) => w.routable)).toEqual([true, false]);
    a.failNext('load_model', 'SIDECAR_ERROR', 'IO_ERROR');
    b.failNext('load_model', 'SIDECAR_ERROR', 'IO_ERROR');
    const err = await rejection(pool.loadModel({ checkpoint: '/m.pt' }));
    expect(err.details).toMatchObject({ sidecarCode: 'IO_ERROR' });
  });

  it('brings a restarted member back to the loaded checkpoint', async () => {
    const [a, b] = fakes(2, { card: fakeCard(48) });
    const pool = poolOf([a, b]);
    await pool.loadModel({ checkpoint: '/models/x/model.pt' });
    expect(pool.card?.input_size).toBe(96);
    a.restartWith(fakeCard(48));
    expect(pool.workers[0].routable).toBe(false);
    await until(() => pool.workers[0].routable);
    expect(count(a, 'load_model')).toBe(2);
    expect(a.card?.input_size).toBe(96);
  });

  it('cannot rebuild a fresh model on a restarted member', async () => {
    const [a, b] = fakes(2);
    const pool = poolOf([a, b]);
    await pool.loadModel({ arch: a.card!.arch, input_size: 40 });
    a.restartWith(fakeCard(96));
    await sleep(20);
    expect(count(a, 'load_model')).toBe(1);
    expect(pool.workers.map((w) => w.routable)).toEqual([false, true]);
  });

  it('rejects training ops with more than one member', async () => {
    const members = fakes(2);
    const pool = poolOf(members);
    const labels = new Float32Array([1, 0]);
    const calls = [
      pool.configureTraining({ lr: 0.001 }),
      pool.trainStep(batch(), labels),
      pool.save({ path: '/tmp/x.pt', card: {}, include_optimizer: false }),
    ];
    for (const call of calls) {
      const err = await rejection(call);
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(/single model worker/);
    }
    expect(members.every((m) => m.calls.length === 0)).toBe(true);
  });

  it('passes training ops through with one member', async () => {
    const [only] = fakes(1);
    const pool = poolOf([only]);
    await pool.configureTraining({ lr: 0.001, freeze_trunk: true });
    const step = await pool.trainStep(batch(2), new Float32Array([1, 0, 0, 1]));
    expect(step.loss).toBeGreaterThan(0);
    await pool.save({ path: '/tmp/x.pt', card: {}, include_optimizer: false });
    await pool.load({ path: '/tmp/x.pt', include_optimizer: false });
    expect(only.calls.map((c) => c.op)).toEqual([
      'configure_training',
      'train_step',
      'save',
      'load',
    ]);
  });
});

describe('createSidecar', () => {
  const routers: FakeRouter[] = [];
  afterEach(() => routers.splice(0).forEach((r) => r.close()));

  async function endpoints(n: number, protocols: number[] = []) {
    for (let i = 0; i < n; i++) {
      const protocol = protocols[i];
      routers.push(await FakeRouter.bind('tcp://127.0.0.1:*', { protocol }));
    }
    return routers.map((r) => r.endpoint).join(',');
  }

  it('connects to each listed endpoint and spreads the calls', async () => {
    const endpoint = await endpoints(2);
    const config = testConfig({ sidecar: { spawn: false, endpoint } });
    const pool = await createSidecar(config);
    pools.push(pool);
    expect(pool).toBeInstanceOf(SidecarPool);
    expect(pool.ready).toBe(true);
    const calls = Array.from({ length: 6 }, () => pool.hello({ sleep_ms: 30 }));
    await Promise.all(calls);
    for (const router of routers) {
      const hellos = router.received.filter((h) => h.op === 'hello');
      expect(hellos.length).toBeGreaterThanOrEqual(3); // 1 handshake + 3
    }
  });

  it('returns a plain supervisor for one worker', async () => {
    const endpoint = await endpoints(1);
    const config = testConfig({ sidecar: { spawn: false, endpoint } });
    const sc = await createSidecar(config);
    pools.push(sc);
    expect(sc).toBeInstanceOf(SidecarSupervisor);
  });

  it('fails, naming the worker, when one cannot start', async () => {
    const endpoint = await endpoints(2, [1, 99]);
    const config = testConfig({ sidecar: { spawn: false, endpoint } });
    const err = await rejection(createSidecar(config));
    expect(err.code).toBe('PROTOCOL_MISMATCH');
    expect(err.message).toMatch(/^Model worker 1 \(tcp:/);
    expect(err.details).toMatchObject({ worker: 1 });
  });

  it('refuses an endpoint list in a plain supervisor', async () => {
    const endpoint = 'tcp://127.0.0.1:1,tcp://127.0.0.1:2';
    const config = testConfig({ sidecar: { spawn: false, endpoint } });
    const err = await rejection(startSidecar(config));
    expect(err.code).toBe('CONFIG_INVALID');
  });

  it('gives each spawned worker its own config and share of the cores', () => {
    const config = testConfig({ sidecar: { workers: 3, threads: 0 } });
    const configs = workerConfigs(config);
    expect(configs).toHaveLength(3);
    for (const c of configs) {
      expect(c.sidecar).toMatchObject({ workers: 1, endpoint: null });
      expect(c.sidecar.threads).toBeGreaterThanOrEqual(1);
      expect(Object.isFrozen(c.sidecar)).toBe(true);
    }
    expect(workerCount(config)).toBe(3);
    const one = testConfig();
    expect(workerConfigs(one)).toEqual([one]);
    const endpoint = 'tcp://a:1,tcp://b:1';
    const connect = testConfig({ sidecar: { spawn: false, endpoint } });
    expect(workerCount(connect)).toBe(2);
    expect(workerConfigs(connect).map((c) => c.sidecar.endpoint)).toEqual([
      'tcp://a:1',
      'tcp://b:1',
    ]);
  });
});

const missing = pythonSidecarMissing();

describe('SidecarPool over two real Python sidecars', () => {
  it.skipIf(missing !== null)(
    `answers 20 concurrent predicts from both workers${
      missing ? ` (skipped: ${missing})` : ''
    }`,
    async () => {
      const config = testConfig({ sidecar: { workers: 2, threads: 1 } });
      const pool = await createSidecar(config);
      pools.push(pool);
      expect(pool).toBeInstanceOf(SidecarPool);
      const members = (pool as SidecarPool)
        .members as readonly SidecarSupervisor[];
      const pids = members.map((m) => m.info?.pid);
      expect(new Set(pids).size).toBe(2);

      const size = 48;
      await pool.loadModel({
        arch: {
          backbone: 'mobilenet_v2',
          output_stride: 32,
          adapter_channels: 16,
        },
        input_size: size,
        pretrained: null,
      });
      const before = await Promise.all(members.map((m) => m.stats()));
      const calls = Array.from({ length: 20 }, () =>
        pool.predict({ data: randomBytes(size * size * 3), n: 1, size }),
      );
      const results = await Promise.all(calls);
      for (const r of results) expect(r.logits.gender).toHaveLength(1);
      const after = await Promise.all(members.map((m) => m.stats()));
      // `served` counts answers before the stats call itself.
      const predicts = after.map((s, i) => s.served - before[i].served - 1);
      expect(predicts.reduce((a, b) => a + b, 0)).toBe(20);
      for (const n of predicts) expect(n).toBeGreaterThan(0);
      const hellos = await Promise.all([pool.hello(), pool.hello()]);
      expect(new Set(hellos.map((h) => h.pid))).toEqual(new Set(pids));
    },
    240_000,
  );
});

function rgb() {
  return { data: new Uint8Array(16 * 16 * 3), width: 16, height: 16 };
}
