import { EventEmitter } from 'node:events';
import { AppError, type ErrorCode } from '../errors.ts';
import {
  PROTOCOL_VERSION,
  type FaceBox,
  type HelloResult,
  type ModelCard,
  type OpName,
  type Ops,
  type Task,
} from '../protocol/index.ts';
import { imagesTensor, imageTensor, labelsTensor } from './codec.ts';
import {
  fakeCard,
  fakeLogits,
  fakeLosses,
  gaussianCams,
} from './fake-model.ts';
import type {
  CallOptions,
  ImageBatch,
  PredictResult,
  RgbImage,
  Sidecar,
  SidecarEvents,
} from './types.ts';

export interface FakeSidecarOptions {
  /** Card of the "loaded" model; null for none. Default: a 96 px card. */
  card?: ModelCard | null;
  /** Faces `detect` reports; default: one centred box, half the short side. */
  boxes?: FaceBox[] | ((image: RgbImage) => FaceBox[]);
  /** Delay before each reply, in ms, for all ops or per op. Default 0. */
  delayMs?: number | Partial<Record<OpName, number>>;
  /** Ops that always fail, with the app error code they fail with. */
  failures?: Partial<Record<OpName, ErrorCode>>;
  /** Deadline per call when the caller gives none, in ms. Default 30 s. */
  callTimeoutMs?: number;
}

/** A failure that also carries the wire code, like the real client's. */
interface Failure {
  code: ErrorCode;
  sidecarCode?: string;
}

/**
 * An in-process {@link Sidecar} for unit tests of other modules: no Python,
 * no sockets. Logits are a deterministic function of the image bytes, cams
 * a centred gaussian, boxes where configured. It honours deadlines
 * (`SIDECAR_TIMEOUT`), can be {@link kill}ed (`SIDECAR_DIED` for calls in
 * flight) and {@link revive}d, and records every call in {@link calls}.
 */
export class FakeSidecar
  extends EventEmitter<SidecarEvents>
  implements Sidecar
{
  /** Every call made, in order: op name and options. */
  readonly calls: { op: OpName; options: unknown }[] = [];
  #card: ModelCard | null;
  #ready = true;
  #restarts = 0;
  #served = 0;
  #training = false;
  #saved = new Map<string, ModelCard>();
  #inFlight = new Set<(err: AppError) => void>();
  #oneShot: { op: OpName; failure: Failure }[] = [];
  readonly #opts: FakeSidecarOptions;

  constructor(opts: FakeSidecarOptions = {}) {
    super();
    this.#opts = opts;
    this.#card = opts.card === undefined ? fakeCard() : opts.card;
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

  /** Makes the next call of `op` fail with `code` (wire code optional). */
  failNext(op: OpName, code: ErrorCode, sidecarCode?: string): void {
    this.#oneShot.push({ op, failure: { code, sidecarCode } });
  }

  /** Like a crash: calls in flight fail with `SIDECAR_DIED`, not ready. */
  kill(): void {
    this.#ready = false;
    for (const fail of [...this.#inFlight]) {
      fail(new AppError('SIDECAR_DIED'));
    }
    this.emit('exit', { code: null, signal: 'SIGKILL' });
  }

  /** Like a completed restart: ready again, `restarts` counts it. */
  revive(): void {
    this.#restarts++;
    this.#ready = true;
    this.emit('ready', this.#helloResult());
  }

  async close(): Promise<void> {
    this.#ready = false;
    for (const fail of [...this.#inFlight]) fail(new AppError('SIDECAR_DIED'));
  }

  hello(options: Ops['hello']['options'] = {}, call?: CallOptions) {
    return this.#run('hello', options, call, () => this.#helloResult());
  }

  loadModel(options: Ops['load_model']['options'], call?: CallOptions) {
    return this.#run('load_model', options, call, () => {
      const size = 'input_size' in options ? options.input_size : 96;
      this.#card = fakeCard(size);
      const pretrained = 'pretrained' in options && options.pretrained !== null;
      return { card: this.#card, pretrained_loaded: pretrained, warnings: [] };
    });
  }

  detect(
    image: RgbImage,
    options: Ops['detect']['options'] = {},
    call?: CallOptions,
  ) {
    imageTensor(image); // same shape check as the real client
    return this.#run('detect', options, call, () => {
      const { boxes } = this.#opts;
      const found = typeof boxes === 'function' ? boxes(image) : boxes;
      return { boxes: found ?? [centredBox(image)], padded: false };
    });
  }

  predict(images: ImageBatch, explain: Task[] = [], call?: CallOptions) {
    imagesTensor(images);
    const options = { explain };
    return this.#run('predict', options, call, (): PredictResult => {
      this.#needModel();
      const logits = fakeLogits(images);
      const result: PredictResult = { logits, explained: {}, cams: {} };
      for (const task of explain) {
        const positive = logits[task].map((z) => z > 0);
        const flat = positive.map(() => false);
        result.explained[task] = { positive, flat };
        result.cams[task] = gaussianCams(images.n, images.size);
      }
      return result;
    });
  }

  configureTraining(
    options: Ops['configure_training']['options'],
    call?: CallOptions,
  ) {
    return this.#run('configure_training', options, call, () => {
      this.#needModel();
      this.#training = true;
      return { trainable_params: options.freeze_trunk ? 1_000 : 100_000 };
    });
  }

  trainStep(
    images: ImageBatch,
    labels: Float32Array,
    options: Ops['train_step']['options'] = {},
    call?: CallOptions,
  ) {
    imagesTensor(images);
    labelsTensor(labels, images.n);
    return this.#run('train_step', options, call, () => {
      this.#needModel();
      if (!this.#training) throw wire('SIDECAR_ERROR', 'NOT_TRAINING');
      const { losses, counts } = fakeLosses(fakeLogits(images), labels);
      const known = Object.values(losses).filter((l) => l !== null);
      const loss = known.reduce((a, b) => a + b, 0);
      const grad_cosine = options.measure_conflict ? 0 : null;
      return { loss, losses, counts, grad_cosine };
    });
  }

  evalStep(images: ImageBatch, call?: CallOptions) {
    imagesTensor(images);
    return this.#run('eval_step', {}, call, () => {
      this.#needModel();
      return { logits: fakeLogits(images) };
    });
  }

  save(options: Ops['save']['options'], call?: CallOptions) {
    return this.#run('save', options, call, () => {
      const card = { ...this.#needModel(), ...options.card } as ModelCard;
      this.#saved.set(options.path, card);
      const card_path = options.path.replace(/\.pt$/, '') + '.json';
      return { path: options.path, card_path, sha256: 'fake', bytes: 0 };
    });
  }

  load(options: Ops['load']['options'], call?: CallOptions) {
    return this.#run('load', options, call, () => {
      const card = this.#saved.get(options.path);
      if (card === undefined) throw wire('SIDECAR_ERROR', 'IO_ERROR');
      this.#card = card;
      return { card };
    });
  }

  stats(call?: CallOptions) {
    return this.#run('stats', {}, call, () => ({
      rss_bytes: process.memoryUsage().rss,
      hooks: { gender: 1, smile: 1 },
      served: this.#served,
      compiled: false,
      cpu_seconds: process.cpuUsage().user / 1e6,
    }));
  }

  shutdown(call?: CallOptions) {
    return this.#run('shutdown', {}, call, () => {
      this.#ready = false;
      return {} as Record<string, never>;
    });
  }

  #helloResult(): HelloResult {
    return {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      python: 'fake',
      torch: 'fake',
      torchvision: 'fake',
      numpy: 'fake',
      opencv: 'fake',
      device: 'cpu',
      threads: 1,
      cuda: { available: false, devices: [] },
      model: this.#card,
      detector: { kind: 'fake' },
    };
  }

  #needModel(): ModelCard {
    if (this.#card === null) throw wire('MODEL_UNAVAILABLE', 'NO_MODEL');
    return this.#card;
  }

  /** Runs one fake op with the real link's failure modes. */
  #run<T>(
    op: OpName,
    options: unknown,
    call: CallOptions | undefined,
    answer: () => T,
  ): Promise<T> {
    this.calls.push({ op, options });
    if (!this.#ready) return Promise.reject(new AppError('MODEL_UNAVAILABLE'));
    const delay = this.#delay(op);
    const timeoutMs = call?.timeoutMs ?? this.#opts.callTimeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      const settle = (err: AppError | null, value?: T) => {
        clearTimeout(replyTimer);
        clearTimeout(deadline);
        this.#inFlight.delete(fail);
        if (err) reject(err);
        else resolve(value as T);
      };
      const fail = (err: AppError) => settle(err);
      this.#inFlight.add(fail);
      const deadline = setTimeout(() => {
        const details = { op, timeoutMs };
        fail(new AppError('SIDECAR_TIMEOUT', undefined, { details }));
      }, timeoutMs);
      const replyTimer = setTimeout(() => {
        try {
          this.#failure(op);
          this.#served++;
          settle(null, answer());
        } catch (err: unknown) {
          fail(err instanceof AppError ? err : new AppError('INTERNAL'));
        }
      }, delay);
    });
  }

  #delay(op: OpName): number {
    const { delayMs } = this.#opts;
    return typeof delayMs === 'number' ? delayMs : (delayMs?.[op] ?? 0);
  }

  #failure(op: OpName): void {
    const i = this.#oneShot.findIndex((f) => f.op === op);
    const once = i >= 0 ? this.#oneShot.splice(i, 1)[0].failure : undefined;
    const always = this.#opts.failures?.[op];
    const failure = once ?? (always ? { code: always } : undefined);
    if (failure) throw wire(failure.code, failure.sidecarCode);
  }
}

function wire(code: ErrorCode, sidecarCode?: string): AppError {
  return new AppError(code, undefined, { details: { sidecarCode } });
}

function centredBox(image: RgbImage): FaceBox {
  const side = Math.round(Math.min(image.width, image.height) / 2);
  const x = Math.round((image.width - side) / 2);
  const y = Math.round((image.height - side) / 2);
  return { x, y, w: side, h: side, score: 0.99 };
}
