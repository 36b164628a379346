import type { Summary } from '../metrics/index.ts';
import type { TrainConfig } from './config.ts';
import type { Calibration, Task } from './evaluate.ts';
import type { EpochEntry } from './loop.ts';

/** One evaluated image, enough for ROC, reliability and subgroup plots. */
export interface ScoredImage {
  dataset: string;
  split: 'val' | 'test';
  /** Extra columns from meta.csv (e.g. age, race for UTKFace). */
  meta: Record<string, string>;
  labels: Record<Task, 0 | 1 | null>;
  logits: Record<Task, number>;
}

/** One Grad-CAM example for the gallery. */
export interface GalleryItem {
  task: Task;
  split: 'val' | 'test';
  dataset: string;
  file: string;
  correct: boolean;
  /** The true label and the predicted label, as class names. */
  truth: string;
  predicted: string;
  /** Calibrated probability of the predicted label. */
  probability: number;
  /** `data:image/png;base64,...` of the heat map over the face crop. */
  png: string;
}

/** Everything the HTML report shows. */
export interface ReportInput {
  title: string;
  created: string;
  config: TrainConfig;
  history: EpochEntry[];
  best: { epoch: number; metric: number };
  stopped: 'early' | 'done' | null;
  calibration: Calibration;
  /** Per split, per group ("all" or a data set name), per task. */
  summaries: Record<
    'val' | 'test',
    Record<string, Partial<Record<Task, Summary>>>
  >;
  scored: ScoredImage[];
  gallery: GalleryItem[];
  /** Image counts per data set and split. */
  counts: Record<string, Record<string, number>>;
}
