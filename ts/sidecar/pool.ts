import { EventEmitter } from 'node:events';
import { AppError, isAppError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging.ts';
import type {
  HelloResult,
  LoadModelOptions,
  LoadModelResult,
  LoadOptions,
  LoadResult,
  ModelCard,
  Ops,
  StatsResult,
  Task,
} from '../protocol/index.ts';
import type {
  CallOptions,
  ImageBatch,
  RgbImage,
  Sidecar,
  SidecarEvents,
  SidecarExit,
} from './types.ts';

/** Settings of a {@link SidecarPool}. */
export interface SidecarPoolOptions {
  logger?: Logger;
  /**
   * The deadline of a call that names none, in ms (`sidecar.callTimeoutMs`).
   * A call retried on another worker gets what is left of its deadline;
   * without this, a retry of a call that named no deadline gets a full one.
   */
  callTimeoutMs?: number;
}

/** One member as the pool sees it; for metrics, logs and tests. */
export interface PoolWorkerStatus {
  /** Position in the pool (the `worker` field of its log lines). */
  index: number;
  /** The member's own readiness. */
  ready: boolean;
  /** Ready and serving the pool's model: calls may be routed to it. */
  routable: boolean;
  /** Calls the pool has sent it that have not settled. */
  inFlight: number;
  /** Calls the pool has sent it since the pool was built. */
  calls: number;
}

/** How to bring a worker that missed a model change up to date. */
interface Replay {
  model: LoadModelOptions | null;
  weights: LoadOptions | null;
}

interface Member {
  readonly index: number;
  readonly sidecar: Sidecar;
  inFlight: number;
  calls: number;
  /** Its last handshake, from its `ready` events. */
  hello: HelloResult | null;
  /** Warned about serving another model; cleared once it matches again. */
  mismatched: boolean;
  catchingUp: boolean;
  readonly detach: () => void;
}

/**
 * Several sidecars (model workers) behind the one {@link Sidecar} interface,
 * so the rest of the app does not know there is more than one.
 *
 * - **Routing.** Each call goes to the least-loaded routable member (fewest
 *   calls in flight through the pool; ties in round-robin order). Routable
 *   means ready and serving the pool's model.
 * - **Same model.** The pool's model is the card of the first ready member,
 *   then whatever `loadModel`/`load` loaded. A member whose card differs
 *   (name, sha256 or input size) is logged and left out of routing until it
 *   matches: after a restart it is sent the pool's last `loadModel`/`load`
 *   again (not for a freshly built model without a later `load`: its random
 *   weights cannot be rebuilt). When no ready member serves the pool's model
 *   and the app never loaded one through the pool (every worker restarted
 *   with a new checkpoint), the pool adopts the model of the first ready
 *   member.
 * - **Failures.** A member that dies fails its calls in flight with
 *   `SIDECAR_DIED`. `hello`, `detect`, `predict` and `evalStep` are then
 *   retried once on another routable member, within what is left of the
 *   call's deadline; nothing else is retried.
 * - **Training.** `loadModel` and `load` go to every ready member, so they
 *   stay identical (the result is the first member's to succeed).
 *   `configureTraining`, `trainStep` and `save` need a pool of one member
 *   and fail with `CONFIG_INVALID` otherwise: training uses one worker.
 * - **State.** `ready` when at least one member is routable (the `ready`
 *   event fires when the pool becomes ready); `card` is a routable
 *   member's; `restarts` the sum; members' `exit` and `restart` events are
 *   re-emitted. `stats` sums `rss_bytes`, `served` and `cpu_seconds` over the ready members
 *   and takes the largest hook count per task (a leak in any worker shows);
 *   members that fail are left out of the sum. `shutdown` and `close` go to
 *   every member.
 */
export class SidecarPool
  extends EventEmitter<SidecarEvents>
  implements Sidecar
{
  readonly #members: Member[];
  readonly #log: Logger;
  readonly #opts: SidecarPoolOptions;
  #reference: ModelCard | null = null;
  #replay: Replay | null = null;
  #cursor = 0;
  #wasReady = false;
  #closed = false;
  #closing: Promise<void> | null = null;

  /**
   * Builds a pool over members that are started (or starting) elsewhere;
   * {@link close} closes them.
   */
  constructor(members: readonly Sidecar[], opts: SidecarPoolOptions = {}) {
    super();
    if (members.length === 0) {
      throw new AppError('INTERNAL', 'A sidecar pool needs a member');
    }
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger()).child({ component: 'pool' });
    this.#members = members.map((sidecar, index) => this.#join(sidecar, index));
    const first = this.#members.find((m) => m.sidecar.ready);
    this.#reference = first?.sidecar.card ?? null;
    this.#refresh();
  }

  get ready(): boolean {
    return !this.#closed && this.#members.some((m) => this.#routable(m));
  }

  get card(): ModelCard | null {
    const serving = this.#members.find((m) => this.#routable(m));
    return serving?.sidecar.card ?? this.#reference;
  }

  get restarts(): number {
    return this.#members.reduce((sum, m) => sum + m.sidecar.restarts, 0);
  }

  /** The members, in pool order. */
  get members(): readonly Sidecar[] {
    return this.#members.map((m) => m.sidecar);
  }

  /** Each member's readiness and load, in pool order. */
  get workers(): PoolWorkerStatus[] {
    return this.#members.map((m) => ({
      index: m.index,
      ready: m.sidecar.ready,
      routable: this.#routable(m),
      inFlight: m.inFlight,
      calls: m.calls,
    }));
  }

  // Routed to one member, retried once elsewhere when that member dies.

  hello(options: Ops['hello']['options'] = {}, call?: CallOptions) {
    return this.#routed('hello', call, (s, c) => s.hello(options, c));
  }

  detect(
    image: RgbImage,
    options?: Ops['detect']['options'],
    call?: CallOptions,
  ) {
    return this.#routed('detect', call, (s, c) => s.detect(image, options, c));
  }

  predict(images: ImageBatch, explain?: Task[], call?: CallOptions) {
    return this.#routed('predict', call, (s, c) =>
      s.predict(images, explain, c),
    );
  }

  evalStep(images: ImageBatch, call?: CallOptions) {
    return this.#routed('evalStep', call, (s, c) => s.evalStep(images, c));
  }

  // Sent to every ready member.

  loadModel(
    options: Ops['load_model']['options'],
    call?: CallOptions,
  ): Promise<LoadModelResult> {
    const run = (s: Sidecar) => s.loadModel(options, call);
    return this.#broadcast('loadModel', run, () => {
      this.#replay = { model: options, weights: null };
    });
  }

  load(
    options: Ops['load']['options'],
    call?: CallOptions,
  ): Promise<LoadResult> {
    return this.#broadcast(
      'load',
      (s) => s.load(options, call),
      () => {
        const model = this.#replay?.model ?? null;
        this.#replay = {
          model,
          weights: { ...options, include_optimizer: false },
        };
      },
    );
  }

  async stats(call?: CallOptions): Promise<StatsResult> {
    const settled = await this.#everyReady((s) => s.stats(call));
    const hooks: StatsResult['hooks'] = {};
    let rss = 0;
    let served = 0;
    let cpu = 0;
    for (const stats of settled) {
      rss += stats.rss_bytes;
      served += stats.served;
      cpu += stats.cpu_seconds ?? 0;
      for (const [task, count] of Object.entries(stats.hooks)) {
        const key = task as Task;
        hooks[key] = Math.max(hooks[key] ?? 0, count ?? 0);
      }
    }
    // Compiled only when every worker serves through its compiled trunk.
    const compiled = settled.length > 0 && settled.every((s) => s.compiled);
    return { rss_bytes: rss, hooks, served, compiled, cpu_seconds: cpu };
  }

  async shutdown(call?: CallOptions): Promise<Record<string, never>> {
    await this.#everyReady((s) => s.shutdown(call));
    return {};
  }

  // Training: one worker only.

  async configureTraining(
    options: Ops['configure_training']['options'],
    call?: CallOptions,
  ) {
    const m = this.#single('configureTraining');
    return this.#on(m, () => m.sidecar.configureTraining(options, call));
  }

  async trainStep(
    images: ImageBatch,
    labels: Float32Array,
    options?: Ops['train_step']['options'],
    call?: CallOptions,
  ) {
    const m = this.#single('trainStep');
    return this.#on(m, () =>
      m.sidecar.trainStep(images, labels, options, call),
    );
  }

  async save(options: Ops['save']['options'], call?: CallOptions) {
    const m = this.#single('save');
    return this.#on(m, () => m.sidecar.save(options, call));
  }

  /** Closes every member; calls fail with `MODEL_UNAVAILABLE` afterwards. */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  // Internals.

  #join(sidecar: Sidecar, index: number): Member {
    const onReady = (hello: HelloResult) => this.#memberReady(member, hello);
    const onExit = (exit: SidecarExit) => {
      this.emit('exit', exit);
      this.#refresh();
    };
    const onRestart = (info: SidecarEvents['restart'][0]) =>
      this.emit('restart', info);
    sidecar.on('ready', onReady);
    sidecar.on('exit', onExit);
    sidecar.on('restart', onRestart);
    const info = (sidecar as { info?: HelloResult | null }).info;
    const member: Member = {
      index,
      sidecar,
      inFlight: 0,
      calls: 0,
      hello: info ?? null,
      mismatched: false,
      catchingUp: false,
      detach: () => {
        sidecar.off('ready', onReady);
        sidecar.off('exit', onExit);
        sidecar.off('restart', onRestart);
      },
    };
    return member;
  }

  #memberReady(m: Member, hello: HelloResult): void {
    m.hello = hello;
    if (this.#closed) return;
    const stale = !sameModel(m.sidecar.card, this.#reference);
    if (stale && this.#reference !== null && this.#canReplay()) {
      void this.#catchUp(m);
    }
    this.#refresh();
  }

  #canReplay(): boolean {
    const replay = this.#replay;
    if (replay === null) return false;
    if (replay.weights !== null) return true;
    return replay.model !== null && 'checkpoint' in replay.model;
  }

  /** Sends a member that missed a model change the pool's model. */
  async #catchUp(m: Member): Promise<void> {
    const replay = this.#replay;
    if (m.catchingUp || replay === null) return;
    m.catchingUp = true;
    const worker = m.index;
    this.#log.info({ worker }, "loading the pool's model into a worker");
    try {
      const { model, weights } = replay;
      if (model) await this.#on(m, () => m.sidecar.loadModel(model));
      if (weights) await this.#on(m, () => m.sidecar.load(weights));
    } catch (err: unknown) {
      this.#log.warn({ err, worker }, 'a worker could not load the model');
    } finally {
      m.catchingUp = false;
      this.#refresh();
    }
  }

  /**
   * Re-checks every member against the pool's model, adopts another model
   * when none serves it any more, and fires `ready` on becoming ready.
   */
  #refresh(): void {
    if (this.#closed) return;
    this.#maybeAdopt();
    for (const m of this.#members) {
      if (!m.sidecar.ready || m.catchingUp) continue;
      const same = sameModel(m.sidecar.card, this.#reference);
      if (!same && !m.mismatched && !m.catchingUp) {
        this.#log.warn(
          {
            worker: m.index,
            model: describeCard(m.sidecar.card),
            expected: describeCard(this.#reference),
          },
          'a worker serves another model; it gets no calls until it matches',
        );
      }
      m.mismatched = !same;
    }
    const ready = this.ready;
    if (ready && !this.#wasReady) {
      const m = this.#members.find((x) => this.#routable(x) && x.hello);
      if (m?.hello) this.emit('ready', { ...m.hello, model: m.sidecar.card });
    }
    this.#wasReady = ready;
  }

  #maybeAdopt(): void {
    const ready = this.#members.filter((m) => m.sidecar.ready);
    const reference = this.#reference;
    let next: Member | undefined;
    if (reference === null) {
      next = ready.find((m) => m.sidecar.card !== null);
    } else if (this.#replay === null && !ready.some(this.#serving)) {
      next = ready[0];
    }
    if (next === undefined) return;
    const card = next.sidecar.card;
    this.#log.warn(
      { from: describeCard(reference), to: describeCard(card) },
      'the pool now serves the model its ready workers have',
    );
    this.#reference = card;
  }

  readonly #serving = (m: Member) => sameModel(m.sidecar.card, this.#reference);

  #routable(m: Member): boolean {
    return m.sidecar.ready && !m.catchingUp && this.#serving(m);
  }

  /**
   * The least-loaded routable member other than `not`; ties go round
   * robin. Null when there is none.
   */
  #pick(not: Member | null): Member | null {
    const n = this.#members.length;
    let best: Member | null = null;
    for (let k = 0; k < n; k++) {
      const m = this.#members[(this.#cursor + k) % n];
      if (m === not || !this.#routable(m)) continue;
      if (best === null || m.inFlight < best.inFlight) best = m;
    }
    if (best) this.#cursor = (best.index + 1) % n;
    return best;
  }

  /** Runs `fn` on `m`, counting it in flight. */
  async #on<T>(m: Member, fn: () => Promise<T>): Promise<T> {
    m.inFlight++;
    m.calls++;
    try {
      return await fn();
    } finally {
      m.inFlight--;
    }
  }

  async #routed<T>(
    op: string,
    call: CallOptions | undefined,
    run: (sidecar: Sidecar, call?: CallOptions) => Promise<T>,
  ): Promise<T> {
    this.#open();
    const first = this.#pick(null);
    if (first === null) throw this.#unavailable();
    const started = Date.now();
    try {
      return await this.#on(first, () => run(first.sidecar, call));
    } catch (err: unknown) {
      if (!isAppError(err) || err.code !== 'SIDECAR_DIED') throw err;
      const other = this.#closed ? null : this.#pick(first);
      const left = this.#remaining(call, started);
      if (other === null || left === null) throw err;
      const fields = { op, from: first.index, to: other.index };
      this.#log.warn(fields, 'a worker died during a call; retrying once');
      return await this.#on(other, () => run(other.sidecar, left));
    }
  }

  /** The call options for a retry; null when the deadline has passed. */
  #remaining(call: CallOptions | undefined, started: number) {
    const deadline = call?.timeoutMs ?? this.#opts.callTimeoutMs;
    if (deadline === undefined) return call;
    const left = deadline - (Date.now() - started);
    return left > 0 ? { ...call, timeoutMs: left } : null;
  }

  /**
   * Runs `op` on every ready member at once. The first success sets the
   * pool's model (so calls stop going to members still on the old one);
   * members that fail are left out until they catch up.
   */
  async #broadcast<T extends { card: ModelCard }>(
    op: string,
    run: (sidecar: Sidecar) => Promise<T>,
    remember: () => void,
  ): Promise<T> {
    this.#open();
    const targets = this.#members.filter((m) => m.sidecar.ready);
    if (targets.length === 0) throw this.#unavailable();
    const done: { first?: T } = {};
    const settled = await Promise.allSettled(
      targets.map(async (m) => {
        const result = await this.#on(m, () => run(m.sidecar));
        if (done.first === undefined) {
          done.first = result;
          this.#reference = result.card;
          remember();
        }
        return result;
      }),
    );
    const failures: unknown[] = [];
    for (const [i, s] of settled.entries()) {
      if (s.status === 'fulfilled') continue;
      failures.push(s.reason);
      const fields = { err: s.reason as unknown, worker: targets[i].index, op };
      if (done.first) this.#log.warn(fields, 'a worker failed a model change');
    }
    if (done.first === undefined) throw failures[0];
    this.#refresh();
    return done.first;
  }

  /** `fn` on every ready member; the successes, or the first failure. */
  async #everyReady<T>(fn: (sidecar: Sidecar) => Promise<T>): Promise<T[]> {
    this.#open();
    const targets = this.#members.filter((m) => m.sidecar.ready);
    if (targets.length === 0) throw this.#unavailable();
    const settled = await Promise.allSettled(
      targets.map((m) => this.#on(m, () => fn(m.sidecar))),
    );
    const ok = settled.filter((s) => s.status === 'fulfilled');
    if (ok.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
    return ok.map((s) => s.value);
  }

  #single(op: string): Member {
    this.#open();
    const workers = this.#members.length;
    if (workers === 1) return this.#members[0];
    throw new AppError(
      'CONFIG_INVALID',
      `${op} needs a single model worker and this pool has ${workers}: ` +
        'train with sidecar.workers = 1 and at most one endpoint',
      { details: { op, workers } },
    );
  }

  #open(): void {
    if (this.#closed) {
      throw new AppError('MODEL_UNAVAILABLE', 'The model pool is closed');
    }
  }

  #unavailable(): AppError {
    const ready = this.#members.filter((m) => m.sidecar.ready).length;
    return new AppError('MODEL_UNAVAILABLE', 'No model worker is ready', {
      details: {
        workers: this.#members.length,
        ready,
        restarts: this.restarts,
      },
    });
  }

  async #closeAll(): Promise<void> {
    this.#closed = true;
    for (const m of this.#members) m.detach();
    const settled = await Promise.allSettled(
      this.#members.map((m) => m.sidecar.close()),
    );
    for (const [worker, s] of settled.entries()) {
      if (s.status === 'rejected') {
        this.#log.warn({ err: s.reason, worker }, 'closing a worker failed');
      }
    }
  }
}

/** Whether two cards describe the same served model. */
function sameModel(a: ModelCard | null, b: ModelCard | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.name === b.name &&
    (a.sha256 ?? null) === (b.sha256 ?? null) &&
    a.input_size === b.input_size
  );
}

function describeCard(card: ModelCard | null) {
  if (card === null) return null;
  return { name: card.name, sha256: card.sha256 ?? null };
}
