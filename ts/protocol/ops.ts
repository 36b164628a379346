import type { ModelArch, ModelCard } from './model-card.ts';
import type { SidecarErrorCode, Task } from './version.ts';

/** `hello`: handshake and environment report. */
export interface HelloOptions {
  /** Test hook, if the sidecar supports it: sleep before replying. */
  sleep_ms?: number;
}
export interface HelloResult {
  protocol: number;
  pid: number;
  python: string;
  torch: string;
  torchvision: string;
  numpy: string;
  opencv: string;
  /** The torch device chosen at start-up, e.g. `cpu` or `cuda:0`. */
  device: string;
  threads: number;
  cuda: { available: boolean; devices: string[] };
  model: ModelCard | null;
  detector: { kind: string; [key: string]: unknown };
}

/** `load_model`: a checkpoint, or a fresh model built from an arch. */
export type LoadModelOptions =
  | { checkpoint: string }
  | {
      arch: ModelArch;
      input_size: number;
      /** Weights for the trunk; null for none; absent: the configured file. */
      pretrained?: string | null;
      /** Seeds torch before the fresh layers are initialised (repeatable runs). */
      seed?: number;
    };
export interface LoadModelResult {
  card: ModelCard;
  pretrained_loaded: boolean;
  warnings: string[];
}

/** `detect`: faces in one `uint8 [H, W, 3]` RGB image. */
export interface DetectOptions {
  /** Smallest face side as a fraction of the shorter image side. */
  min_size_frac?: number;
  /** Retry on a padded copy when nothing is found (faces at the edge). */
  pad_retry?: boolean;
  /** Drop detections scoring below this (0..1; the sidecar defaults 0.5). */
  min_score?: number;
}
export interface FaceBox {
  /** Pixels of the image sent; x, y is the top-left corner. */
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}
export interface DetectResult {
  /** Largest first; empty when no face was found. */
  boxes: FaceBox[];
  padded: boolean;
}

export interface PredictOptions {
  explain?: Task[];
}
export interface Explained {
  /** Per image: the positive class was explained (the predicted class). */
  positive: boolean[];
  /** Per image: the cam was constant (no gradient signal), shown as flat. */
  flat: boolean[];
}
export interface PredictResultHeader {
  logits: Record<Task, number[]>;
  explained: Partial<Record<Task, Explained>>;
}

export interface ConfigureTrainingOptions {
  lr?: number;
  weight_decay?: number;
  freeze_trunk?: boolean;
  seed?: number;
  conflict?: 'none' | 'pcgrad';
  task_weights?: Partial<Record<Task, number>>;
}
export interface ConfigureTrainingResult {
  trainable_params: number;
}

export interface TrainStepOptions {
  /** Learning rate for this step (the schedule lives in TypeScript). */
  lr?: number;
  /** Also compute the cosine between the two tasks' gradients. */
  measure_conflict?: boolean;
  /** Seeds torch before the step, so a resumed run repeats dropout. */
  seed?: number;
}
export interface TrainStepResult {
  loss: number;
  /** null for a task with no label in the batch. */
  losses: Record<Task, number | null>;
  /** Labelled examples per task in the batch. */
  counts: Record<Task, number>;
  grad_cosine: number | null;
}

export interface EvalStepResult {
  logits: Record<Task, number[]>;
}

export interface SaveOptions {
  path: string;
  card: Partial<ModelCard>;
  include_optimizer: boolean;
  /** TypeScript's LR-schedule state, stored in the checkpoint for resume. */
  scheduler_state?: unknown;
}
export interface SaveResult {
  path: string;
  card_path: string;
  sha256: string;
  bytes: number;
}

export interface LoadOptions {
  path: string;
  include_optimizer: boolean;
}
export interface LoadResult {
  card: ModelCard;
  /** What `save` stored as `scheduler_state`, when it stored any. */
  scheduler_state?: unknown;
}

export interface StatsResult {
  rss_bytes: number;
  /** Live Grad-CAM hooks per task; flat over many explains. */
  hooks: Partial<Record<Task, number>>;
  /** Requests served since start. */
  served: number;
  /** CPU time (user + system, all threads) the process has used; absent from old sidecars. */
  cpu_seconds?: number;
  /** Whether predict runs through an up-to-date compiled trunk (CPU, `sidecar.optimize`). */
  compiled: boolean;
}

/** Every operation's options and result header, by wire name. */
export interface Ops {
  hello: { options: HelloOptions; result: HelloResult };
  load_model: { options: LoadModelOptions; result: LoadModelResult };
  detect: { options: DetectOptions; result: DetectResult };
  predict: { options: PredictOptions; result: PredictResultHeader };
  configure_training: {
    options: ConfigureTrainingOptions;
    result: ConfigureTrainingResult;
  };
  train_step: { options: TrainStepOptions; result: TrainStepResult };
  eval_step: { options: Record<string, never>; result: EvalStepResult };
  save: { options: SaveOptions; result: SaveResult };
  load: { options: LoadOptions; result: LoadResult };
  stats: { options: Record<string, never>; result: StatsResult };
  shutdown: { options: Record<string, never>; result: Record<string, never> };
}
export type OpName = keyof Ops;

/** The `error` object of an `ok: false` reply. */
export interface WireError {
  code: SidecarErrorCode | string;
  message: string;
}
