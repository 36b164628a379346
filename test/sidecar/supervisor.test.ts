import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SidecarSupervisor } from '../../ts/sidecar/index.ts';
import { fakeCommand, memoryLogger, testConfig } from '../fixtures/backends.ts';
import { rejection } from '../fixtures/errors.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('SidecarSupervisor with a spawned sidecar', () => {
  it('is ready after the handshake, with the card from hello', async () => {
    const sc = new SidecarSupervisor(testConfig(), { command: fakeCommand() });
    const hello = await sc.start();
    expect(sc.ready).toBe(true);
    expect(hello.protocol).toBe(1);
    expect(sc.card?.input_size).toBe(32);
    expect(sc.endpoint).toMatch(/^ipc:\/\//);
    await sc.close();
  });

  it('re-emits the sidecar stderr through pino as component sidecar', async () => {
    const { logger, lines } = memoryLogger();
    const sc = new SidecarSupervisor(testConfig(), {
      command: fakeCommand(),
      logger,
    });
    await sc.start();
    await sc.close();
    const fromSidecar = lines.filter(
      (l) => (l as { component?: string }).component === 'sidecar',
    );
    expect(fromSidecar).toContainEqual(
      expect.objectContaining({ level: 30, logger: 'fake', msg: 'listening' }),
    );
    expect(fromSidecar).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'a plain line' }),
    );
  });

  it('hands the sidecar its config slice', async () => {
    const { logger, lines } = memoryLogger();
    const config = testConfig({ sidecar: { threads: 3 } });
    const sc = new SidecarSupervisor(config, {
      command: fakeCommand(),
      logger,
    });
    await sc.start();
    await sc.close();
    const listening = lines.find(
      (l) => (l as { msg?: string }).msg === 'listening',
    ) as { config: Record<string, unknown> };
    expect(listening.config).toMatchObject({
      threads: 3,
      max_message_bytes: config.sidecar.maxMessageBytes,
      model: { checkpoint: null, pretrained: null },
    });
  });

  it('refuses a sidecar of another protocol version with PROTOCOL_MISMATCH', async () => {
    const sc = new SidecarSupervisor(testConfig(), {
      command: fakeCommand('--protocol', '2'),
    });
    const err = await rejection(sc.start());
    expect(err.code).toBe('PROTOCOL_MISMATCH');
    expect(sc.ready).toBe(false);
    expect(sc.pid).toBeUndefined();
  });

  it('reports a sidecar that exits at start-up with SIDECAR_DIED and its stderr', async () => {
    const sc = new SidecarSupervisor(testConfig(), {
      command: fakeCommand('--exit-at-start', '3'),
    });
    const err = await rejection(sc.start());
    expect(err.code).toBe('SIDECAR_DIED');
    expect(err.details?.code).toBe(3);
    expect(err.details?.stderr).toContain('Traceback: fake start-up failure');
  });

  it('reports a missing interpreter with SIDECAR_DIED', async () => {
    const config = testConfig({ sidecar: { python: '/nonexistent/python3' } });
    const err = await rejection(new SidecarSupervisor(config).start());
    expect(err.code).toBe('SIDECAR_DIED');
  });

  it('gives up on a sidecar that never answers with SIDECAR_TIMEOUT', async () => {
    const config = testConfig({ sidecar: { startTimeoutMs: 1500 } });
    const sc = new SidecarSupervisor(config, {
      command: fakeCommand('--hang'),
    });
    const err = await rejection(sc.start());
    expect(err.code).toBe('SIDECAR_TIMEOUT');
  });

  it('stops the process and removes its socket directory on close', async () => {
    const sc = new SidecarSupervisor(testConfig(), { command: fakeCommand() });
    await sc.start();
    const pid = sc.pid!;
    const dir = dirname(sc.endpoint!.slice('ipc://'.length));
    expect(existsSync(dir)).toBe(true);
    await sc.close();
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect((await rejection(sc.hello())).code).toBe('MODEL_UNAVAILABLE');
  });

  it('emits exit and restart events and backs off between restarts', async () => {
    const sc = new SidecarSupervisor(testConfig(), { command: fakeCommand() });
    await sc.start();
    const events: string[] = [];
    const delays: number[] = [];
    sc.on('exit', () => events.push('exit'));
    sc.on('restart', ({ delayMs }) => {
      events.push('restart');
      delays.push(delayMs);
    });
    for (let i = 0; i < 2; i++) {
      const ready = new Promise((r) => sc.once('ready', r));
      process.kill(sc.pid!, 'SIGKILL');
      await ready;
    }
    expect(events).toEqual(['exit', 'restart', 'exit', 'restart']);
    expect(delays).toEqual([100, 200]);
    expect(sc.restarts).toBe(2);
    await sc.close();
  });

  it('stops routing to a sidecar that ran past the call timeout until it answers again', async () => {
    const config = testConfig({ sidecar: { callTimeoutMs: 400 } });
    const sc = new SidecarSupervisor(config, { command: fakeCommand() });
    await sc.start();
    const pid = sc.pid;
    // Busy, not wedged: the slow call times out, a later hello is answered.
    const slow = await rejection(sc.hello({ sleep_ms: 600 }));
    expect(slow.code).toBe('SIDECAR_TIMEOUT');
    expect(sc.ready).toBe(false);
    expect((await rejection(sc.hello({}))).code).toBe('MODEL_UNAVAILABLE');
    await vi.waitFor(() => expect(sc.ready).toBe(true), { timeout: 5000 });
    expect(sc.pid).toBe(pid);
    expect(sc.restarts).toBe(0);
    await sc.close();
  });

  it('keeps routing after a call given a shorter deadline than the call timeout misses it', async () => {
    const sc = new SidecarSupervisor(testConfig(), { command: fakeCommand() });
    await sc.start();
    // Like a metrics scrape's 2 s stats call queued behind a long predict.
    const impatient = await rejection(
      sc.hello({ sleep_ms: 300 }, { timeoutMs: 50 }),
    );
    expect(impatient.code).toBe('SIDECAR_TIMEOUT');
    expect(sc.ready).toBe(true);
    expect((await sc.hello({})).pid).toBe(sc.pid);
    expect(sc.restarts).toBe(0);
    await sc.close();
  });

  it('kills and restarts a sidecar that stays silent for a call timeout', async () => {
    const config = testConfig({ sidecar: { callTimeoutMs: 400 } });
    const sc = new SidecarSupervisor(config, { command: fakeCommand() });
    await sc.start();
    const pid = sc.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const frozen = await rejection(sc.hello({}));
      expect(frozen.code).toBe('SIDECAR_TIMEOUT');
      expect(sc.ready).toBe(false);
      await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 5000 });
      await vi.waitFor(() => expect(sc.ready).toBe(true), { timeout: 10_000 });
      expect(sc.pid).not.toBe(pid);
      expect(sc.restarts).toBe(1);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      await sc.close();
    }
  });

  it('reloads the checkpoint it was told to load after a restart', async () => {
    const sc = new SidecarSupervisor(testConfig(), { command: fakeCommand() });
    await sc.start();
    await sc.loadModel({ checkpoint: '/models/other/model.pt' });
    expect(sc.card?.input_size).toBe(96); // the fake starts with 32
    const ready = new Promise((r) => sc.once('ready', r));
    process.kill(sc.pid!, 'SIGKILL');
    await ready;
    expect(sc.card?.input_size).toBe(96);
    await sc.close();
  });
});
