import type {
  ConfigureTrainingOptions,
  EvalStepResult,
  LoadModelOptions,
  LoadModelResult,
  LoadResult,
  ModelCard,
  SaveResult,
  TrainStepOptions,
  TrainStepResult,
} from '../protocol/index.ts';

/** Images as the sidecar takes them: `n` crops of `size × size` RGB. */
export interface ImageBatch {
  data: Uint8Array;
  n: number;
  size: number;
}

/** What the training loop needs from the sidecar. */
export interface TrainEngine {
  loadModel(opts: LoadModelOptions): Promise<LoadModelResult>;
  configureTraining(opts: ConfigureTrainingOptions): Promise<unknown>;
  trainStep(
    images: ImageBatch,
    labels: Float32Array,
    opts?: TrainStepOptions & { seed?: number },
  ): Promise<TrainStepResult>;
  evalStep(images: ImageBatch): Promise<EvalStepResult>;
  predict(
    images: ImageBatch,
    explain?: ('gender' | 'smile')[],
  ): Promise<{
    logits: { gender: number[]; smile: number[] };
    cams: Partial<Record<'gender' | 'smile', Float32Array>>;
  }>;
  save(opts: {
    path: string;
    card: Partial<ModelCard>;
    include_optimizer: boolean;
  }): Promise<SaveResult>;
  load(opts: { path: string; include_optimizer: boolean }): Promise<LoadResult>;
}
