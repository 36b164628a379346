import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEndpoints, sidecarSlice, type Config } from '../config/index.ts';
import { AppError, isAppError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging.ts';
import type {
  HelloResult,
  LoadModelOptions,
  ModelCard,
} from '../protocol/index.ts';
import { backoffDelay } from './backoff.ts';
import { SidecarChild, type ChildCommand } from './child.ts';
import { SidecarClient } from './client.ts';
import { pythonCommand } from './command.ts';
import { checkProtocol, handshake } from './handshake.ts';
import { RoutedOps } from './routed-ops.ts';
import type { CallOptions, Sidecar, SidecarExit } from './types.ts';

export interface SupervisorOptions {
  logger?: Logger;
  /**
   * How to run the sidecar, given the endpoint it must bind and the JSON of
   * its config slice. Default: `<sidecar.python> -m faceattr --endpoint …
   * --config-json …` with `PYTHONPATH=<repo>/python`. Tests run fakes.
   */
  command?: (endpoint: string, configJson: string) => ChildCommand;
}

/** Deadline of one hello sent to a stalled sidecar, and the pause between them. */
const STALL_PING_MS = 2000;
const STALL_RETRY_MS = 250;

/** How long a spawned sidecar gets to exit after `shutdown` or SIGTERM. */
const STOP_GRACE_MS = 2000;

/**
 * Owns the sidecar: spawns it (or connects to one started elsewhere when
 * `sidecar.spawn` is false), checks the `hello` handshake, re-emits its logs,
 * and after a failure fails every call in flight with `SIDECAR_DIED` and
 * restarts it with exponential backoff. Call {@link start} once, then use
 * it as a {@link Sidecar}; {@link close} releases everything.
 */
export class SidecarSupervisor extends RoutedOps implements Sidecar {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #root: Logger;
  readonly #opts: SupervisorOptions;
  #client: SidecarClient | null = null;
  #child: SidecarChild | null = null;
  #hello: HelloResult | null = null;
  #card: ModelCard | null = null;
  #ready = false;
  #everReady = false;
  #readyAt = 0;
  #restarts = 0;
  #attempt = 0;
  #closing = false;
  #fatal: AppError | null = null;
  #probing = false;
  #tmpDir: string | null = null;
  #generation = 0;
  #timer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  #closed: Promise<void> | null = null;
  #checkpointLoaded: { checkpoint: string } | null = null;

  constructor(config: Config, opts: SupervisorOptions = {}) {
    super();
    this.#config = config;
    this.#opts = opts;
    this.#root = opts.logger ?? silentLogger();
    this.#log = this.#root.child({ component: 'engine' });
  }

  get ready(): boolean {
    return this.#ready;
  }

  get card(): ModelCard | null {
    return this.#card;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** The last successful handshake's report; null before the first. */
  get info(): HelloResult | null {
    return this.#hello;
  }

  /** The endpoint of the current link; null when there is none. */
  get endpoint(): string | null {
    return this.#client?.endpoint ?? null;
  }

  /** The spawned process's id; undefined when none runs (or not owned). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Starts (or connects to) the sidecar and completes the handshake.
   * @throws AppError `CONFIG_INVALID` when `sidecar.endpoint` lists more
   *   than one endpoint (a supervisor runs one sidecar: see `createSidecar`),
   *   `SIDECAR_TIMEOUT` (no hello within `startTimeoutMs`),
   *   `SIDECAR_DIED` (the process exited; `details.stderr` has its last
   *   lines) or `PROTOCOL_MISMATCH`. Nothing is left running on failure.
   */
  async start(): Promise<HelloResult> {
    if (this.#generation > 0 || this.#closing) {
      throw new AppError('INTERNAL', 'start() may be called once');
    }
    const endpoints = parseEndpoints(this.#config.sidecar.endpoint);
    if (endpoints.length > 1) {
      throw new AppError(
        'CONFIG_INVALID',
        `sidecar.endpoint lists ${endpoints.length} endpoints; a ` +
          'SidecarSupervisor runs one sidecar (createSidecar runs a pool)',
        { details: { endpoints } },
      );
    }
    try {
      if (!this.#config.sidecar.spawn) return await this.#connect();
      this.#tmpDir = await mkdtemp(join(tmpdir(), 'faceattr-'));
      return await this.#launch();
    } catch (err: unknown) {
      await this.close();
      throw err;
    }
  }

  /**
   * Stops the sidecar: a spawned one gets `shutdown`, then SIGTERM and
   * SIGKILL if it lingers; calls in flight fail with `SIDECAR_DIED`; the
   * private socket directory is removed. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdownAll();
    return this.#closed;
  }

  /** Asks the sidecar to exit; it is not restarted. Use {@link close}. */
  override async shutdown(call?: CallOptions) {
    const link = this.link();
    this.#closing = true;
    return link.shutdown(call);
  }

  /** Calls go to the current link, or fail fast when not ready. */
  protected link(): SidecarClient {
    if (this.#ready && this.#client) return this.#client;
    const state = this.#closing ? 'closed' : 'not ready';
    throw new AppError('MODEL_UNAVAILABLE', `The model process is ${state}`, {
      details: { restarts: this.#restarts, fatal: this.#fatal?.code },
    });
  }

  /** A checkpoint named by `loadModel` is reloaded after a restart. */
  protected modelChanged(card: ModelCard, loadModel: LoadModelOptions | null) {
    this.#card = card;
    if (loadModel === null) return; // `load`: same model, new weights
    this.#checkpointLoaded = 'checkpoint' in loadModel ? loadModel : null;
  }

  // Spawned sidecar.

  async #launch(): Promise<HelloResult> {
    const endpoint = this.#endpointFor(++this.#generation);
    const log = this.#root.child({ component: 'sidecar' });
    const child = new SidecarChild(this.#command(endpoint), log);
    const client = this.#newClient(endpoint, {
      // Only a call that had the full call timeout says the sidecar stalled:
      // one given a shorter deadline (a metrics scrape's stats, a test) may
      // just have queued behind a long predict.
      onTimeout: (_op, _id, timeoutMs) => {
        if (timeoutMs >= this.#config.sidecar.callTimeoutMs) {
          void this.#stalled(child, client);
        }
      },
    });
    this.#child = child;
    this.#client = client;
    void child.exited.then((exit) => this.#onExit(child, client, exit));
    const sidecarPid = child.pid;
    this.#log.info({ sidecarPid, endpoint }, 'sidecar spawned');
    try {
      const hello = await this.#handshake(client, child);
      return this.#becomeReady(await this.#reload(client, hello));
    } catch (err: unknown) {
      child.kill('SIGKILL');
      throw await this.#startError(err, child);
    }
  }

  /**
   * After a restart, loads the checkpoint the app had loaded with
   * `loadModel`, so a restart does not silently change the served model.
   * A freshly built model cannot be rebuilt identically and is not reloaded.
   */
  async #reload(client: SidecarClient, hello: HelloResult) {
    const options = this.#checkpointLoaded;
    if (!this.#everReady || options === null) return hello;
    const timeoutMs = this.#config.sidecar.startTimeoutMs;
    try {
      const { card } = await client.loadModel(options, { timeoutMs });
      return { ...hello, model: card };
    } catch (err: unknown) {
      this.#log.error({ err, ...options }, 'checkpoint reload failed');
      return hello;
    }
  }

  #endpointFor(generation: number): string {
    const fixed = parseEndpoints(this.#config.sidecar.endpoint)[0];
    if (fixed !== undefined) return fixed;
    // A fresh path per process: a socket left by a dead one is never reused.
    return `ipc://${join(this.#tmpDir!, `sidecar-${generation}.sock`)}`;
  }

  #command(endpoint: string): ChildCommand {
    if (!this.#opts.command) return pythonCommand(this.#config, endpoint);
    const json = JSON.stringify(sidecarSlice(this.#config));
    return this.#opts.command(endpoint, json);
  }

  /**
   * A call to the spawned sidecar ran past the full call timeout. It may be busy or
   * wedged (stopped, deadlocked): stop routing to it (readyz 503, calls fail
   * fast) until it answers a hello again; one that stays silent for another
   * call timeout is killed, and its exit restarts it.
   */
  async #stalled(child: SidecarChild, client: SidecarClient) {
    if (child !== this.#child || !this.#ready || this.#closing) return;
    this.#ready = false;
    const sidecarPid = child.pid;
    this.#log.warn({ sidecarPid }, 'sidecar stopped answering');
    const { callTimeoutMs } = this.#config.sidecar;
    const until = Date.now() + callTimeoutMs;
    while (!this.#closing && child === this.#child && !child.exit) {
      const left = until - Date.now();
      if (left <= 0) break;
      try {
        await client.hello({}, { timeoutMs: Math.min(left, STALL_PING_MS) });
        if (child !== this.#child || this.#closing) return;
        this.#ready = true;
        this.#log.info({ sidecarPid }, 'sidecar answers again');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, STALL_RETRY_MS));
      }
    }
    if (child === this.#child && !this.#closing && !child.exit) {
      this.#log.error(
        { sidecarPid, callTimeoutMs },
        'sidecar unresponsive; killing it',
      );
      child.kill('SIGKILL');
    }
  }

  #onExit(child: SidecarChild, client: SidecarClient, exit: SidecarExit) {
    client.close(); // fails what is in flight with SIDECAR_DIED, right now
    if (child !== this.#child) return;
    const uptimeMs = this.#readyAt > 0 ? Date.now() - this.#readyAt : 0;
    this.#child = null;
    this.#client = null;
    this.#ready = false;
    this.#readyAt = 0;
    const level = this.#closing ? 'info' : 'warn';
    this.#log[level]({ ...exit, sidecarPid: child.pid }, 'sidecar exited');
    this.emit('exit', exit);
    if (this.#closing || !this.#everReady || this.#fatal) return;
    // A sidecar that stayed up a while starts the backoff over.
    if (uptimeMs >= this.#config.sidecar.restartBackoffMs.max) {
      this.#attempt = 0;
    }
    void this.#restartLater();
  }

  async #restartLater() {
    const delayMs = backoffDelay(this.#attempt++, this.#backoff());
    this.emit('restart', { attempt: this.#attempt, delayMs });
    this.#log.info({ attempt: this.#attempt, delayMs }, 'sidecar restart');
    await this.#wait(delayMs);
    if (this.#closing) return;
    this.#restarts++;
    try {
      await this.#launch();
    } catch (err: unknown) {
      // The failed child is killed; its exit schedules the next attempt.
      if (isAppError(err) && err.code === 'PROTOCOL_MISMATCH') {
        this.#fatal = err;
      }
      this.#log.error({ err }, 'sidecar restart failed');
    }
  }

  async #startError(err: unknown, child: SidecarChild): Promise<unknown> {
    if (!isAppError(err) || err.code !== 'SIDECAR_DIED' || !child.exit) {
      return err;
    }
    const stderr = await child.tail();
    const { code, signal } = child.exit;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const last = stderr.slice(-5).join('\n');
    return new AppError(
      'SIDECAR_DIED',
      `The sidecar exited during start-up (${how}):\n${last}`,
      { cause: err, details: { code, signal, stderr } },
    );
  }

  // A sidecar started elsewhere (sidecar.spawn = false).

  async #connect(): Promise<HelloResult> {
    this.#generation++;
    const endpoint = parseEndpoints(this.#config.sidecar.endpoint)[0];
    const client = this.#newClient(endpoint, {
      onDisconnect: () => this.#lost('disconnected', true),
      onTimeout: (_op, _id, timeoutMs) => {
        if (timeoutMs >= this.#config.sidecar.callTimeoutMs) {
          this.#lost('timed out', false);
        }
      },
    });
    this.#client = client;
    this.#log.info({ endpoint: client.endpoint }, 'connecting to sidecar');
    return this.#becomeReady(await this.#handshake(client));
  }

  /** The connected sidecar stopped answering: stop routing, keep probing. */
  #lost(why: string, failInFlight: boolean) {
    if (!this.#ready || this.#closing) return;
    this.#ready = false;
    if (failInFlight) this.#client?.failAll('SIDECAR_DIED');
    this.#log.warn({ endpoint: this.endpoint, why }, 'sidecar lost');
    this.emit('exit', { code: null, signal: null });
    void this.#probe();
  }

  async #probe() {
    if (this.#probing) return;
    this.#probing = true;
    const client = this.#client!;
    while (!this.#closing && !client.closed) {
      const delayMs = backoffDelay(this.#attempt++, this.#backoff());
      this.emit('restart', { attempt: this.#attempt, delayMs });
      await this.#wait(delayMs);
      if (this.#closing) break;
      try {
        const timeoutMs = this.#config.sidecar.callTimeoutMs;
        const hello = checkProtocol(await client.hello({}, { timeoutMs }));
        this.#restarts++;
        this.#attempt = 0;
        this.#becomeReady(hello);
        break;
      } catch (err: unknown) {
        this.#log.debug({ err }, 'sidecar probe failed');
      }
    }
    this.#probing = false;
  }

  // Shared.

  #newClient(
    endpoint: string,
    hooks: Pick<
      ConstructorParameters<typeof SidecarClient>[0],
      'onDisconnect' | 'onTimeout'
    > = {},
  ): SidecarClient {
    const { callTimeoutMs, maxMessageBytes } = this.#config.sidecar;
    const logger = this.#log;
    return new SidecarClient({
      endpoint,
      callTimeoutMs,
      maxMessageBytes,
      logger,
      ...hooks,
    });
  }

  #handshake(client: SidecarClient, child?: SidecarChild) {
    const { startTimeoutMs } = this.#config.sidecar;
    const cancelled = () => this.#closing;
    return handshake(client, { startTimeoutMs, child, cancelled });
  }

  #becomeReady(hello: HelloResult): HelloResult {
    this.#hello = hello;
    this.#card = hello.model;
    this.#ready = true;
    this.#everReady = true;
    this.#readyAt = Date.now();
    const { device, threads, torch } = hello;
    const fields = { sidecarPid: hello.pid, device, threads, torch };
    const model = hello.model?.name ?? null;
    this.#log.info(
      { ...fields, model, restarts: this.#restarts },
      'sidecar ready',
    );
    this.emit('ready', hello);
    return hello;
  }

  #backoff() {
    return this.#config.sidecar.restartBackoffMs;
  }

  /** A sleep that {@link close} cuts short. */
  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }

  async #shutdownAll(): Promise<void> {
    const owned = this.#config.sidecar.spawn;
    const child = this.#child;
    const client = this.#client;
    const askedToExit = this.#closing; // shutdown() was already sent
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    if (owned && child && client && this.#ready && !askedToExit) {
      await client.shutdown({ timeoutMs: STOP_GRACE_MS }).catch(() => {});
    }
    this.#ready = false;
    if (child) await child.stop(STOP_GRACE_MS);
    client?.close();
    this.#client = null;
    if (this.#tmpDir) await rm(this.#tmpDir, { recursive: true, force: true });
    this.#tmpDir = null;
  }
}

/**
 * Builds a supervisor for `config` and starts it.
 * @throws what {@link SidecarSupervisor.start} throws.
 */
export async function startSidecar(
  config: Config,
  opts: SupervisorOptions = {},
): Promise<SidecarSupervisor> {
  const sidecar = new SidecarSupervisor(config, opts);
  await sidecar.start();
  return sidecar;
}
