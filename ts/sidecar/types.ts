import type { EventEmitter } from 'node:events';
import type {
  ConfigureTrainingOptions,
  ConfigureTrainingResult,
  DetectOptions,
  DetectResult,
  EvalStepResult,
  Explained,
  HelloOptions,
  HelloResult,
  LoadModelOptions,
  LoadModelResult,
  LoadOptions,
  LoadResult,
  ModelCard,
  SaveOptions,
  SaveResult,
  StatsResult,
  Task,
  TrainStepOptions,
  TrainStepResult,
} from '../protocol/index.ts';

/** One decoded RGB image: `data` is `uint8 [height, width, 3]`. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Model-ready crops: `data` is `uint8 [n, size, size, 3]` RGB. */
export interface ImageBatch {
  data: Uint8Array;
  n: number;
  /** The model card's `input_size`. */
  size: number;
}

/** Per-call settings. */
export interface CallOptions {
  /** Deadline in ms; defaults to `sidecar.callTimeoutMs`. */
  timeoutMs?: number;
}

export interface PredictResult {
  /**
   * Raw logits per task, one per image; > 0 means the positive class. A
   * non-finite logit arrives as null (JSON has no NaN).
   */
  logits: Record<Task, number[]>;
  explained: Partial<Record<Task, Explained>>;
  /** Per explained task: `float32 [n, size, size]` in 0..1, C order. */
  cams: Partial<Record<Task, Float32Array>>;
}

/** The typed operations, one per wire op. */
export interface SidecarOps {
  hello(options?: HelloOptions, call?: CallOptions): Promise<HelloResult>;
  loadModel(
    options: LoadModelOptions,
    call?: CallOptions,
  ): Promise<LoadModelResult>;
  detect(
    image: RgbImage,
    options?: DetectOptions,
    call?: CallOptions,
  ): Promise<DetectResult>;
  predict(
    images: ImageBatch,
    explain?: Task[],
    call?: CallOptions,
  ): Promise<PredictResult>;
  configureTraining(
    options: ConfigureTrainingOptions,
    call?: CallOptions,
  ): Promise<ConfigureTrainingResult>;
  /** `labels` is `float32 [n, 2]` (gender, smile): 1, 0 or NaN = unknown. */
  trainStep(
    images: ImageBatch,
    labels: Float32Array,
    options?: TrainStepOptions,
    call?: CallOptions,
  ): Promise<TrainStepResult>;
  evalStep(images: ImageBatch, call?: CallOptions): Promise<EvalStepResult>;
  save(options: SaveOptions, call?: CallOptions): Promise<SaveResult>;
  load(options: LoadOptions, call?: CallOptions): Promise<LoadResult>;
  stats(call?: CallOptions): Promise<StatsResult>;
  shutdown(call?: CallOptions): Promise<Record<string, never>>;
}

/** Why the sidecar process went away. */
export interface SidecarExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Events of a {@link Sidecar}. */
export interface SidecarEvents {
  /** The handshake succeeded (at start and after every restart). */
  ready: [hello: HelloResult];
  /** The process exited, or a connected sidecar stopped answering. */
  exit: [exit: SidecarExit];
  /** A restart is scheduled after `delayMs`. */
  restart: [info: { attempt: number; delayMs: number }];
}

/**
 * What the rest of the app uses: the operations plus the link's state.
 * Every operation fails with an AppError:
 * - `MODEL_UNAVAILABLE` when the sidecar is not ready (starting, restarting)
 *   or has no model loaded (wire `NO_MODEL`);
 * - `SIDECAR_TIMEOUT` past the call's deadline;
 * - `SIDECAR_DIED` when the process exits while the call is in flight;
 * - `MESSAGE_TOO_LARGE` before sending anything over the size limit;
 * - `QUEUE_FULL` when the link's send queue is full (the sidecar stopped
 *   reading);
 * - `SIDECAR_ERROR` for any other error reply (wire code in
 *   `details.sidecarCode`).
 */
export interface Sidecar extends SidecarOps, EventEmitter<SidecarEvents> {
  /** True between a successful handshake and the next failure. */
  readonly ready: boolean;
  /** The loaded model's card; null when no model is loaded. */
  readonly card: ModelCard | null;
  /** Restart attempts after failures (a reconnect counts as one). */
  readonly restarts: number;
  /** Stops the sidecar (if owned) and releases every resource. */
  close(): Promise<void>;
}
