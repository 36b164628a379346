/**
 * What the face pipeline returns for one image, independent of how it is
 * served (REST JSON, Gradio outputs, the browser page).
 */

import type { Task } from '../protocol/index.ts';

export { TASKS, type Task } from '../protocol/index.ts';

/** A calibrated decision: the label shown and its probability (0..1). */
export interface LabelResult {
  label: string;
  probability: number;
}

/** A Grad-CAM overlay for one task of one face. */
export interface Explanation {
  /** The class the map explains: always the predicted one. */
  explainedLabel: string;
  /** PNG of the heat map over the whole image, in display orientation. */
  png: Buffer;
  /** True when the map was all zero: nothing to show, not an error. */
  flat: boolean;
}

/** A face box in pixels of the decoded, oriented image. */
export interface PixelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FaceAnalysis {
  box: PixelBox;
  /** Detector confidence, 0..1 (0 for a whole-image face). */
  score: number;
  /** No face was detected; the whole small image was analysed as a crop. */
  wholeImage: boolean;
  gender: LabelResult;
  smile: LabelResult;
  explanations: Partial<Record<Task, Explanation>>;
}

export interface ImageAnalysis {
  /** Largest face first; empty when no face was found. */
  faces: FaceAnalysis[];
  image: {
    width: number;
    height: number;
    orientationApplied: boolean;
    /** Frames in the file; only the first is analysed. */
    frames: number;
    format: string;
  };
  model: { name: string; version: string };
}

export interface AnalyzeOptions {
  /** Tasks to explain; empty for none. */
  explain: readonly Task[];
  /** Explain every face, or only the largest (the Gradio endpoint's need). */
  explainFaces: 'all' | 'largest';
  /** Aborts waiting work when the caller has gone away. */
  signal?: AbortSignal;
}

export interface AnalyzerStatus {
  ready: boolean;
  model: { name: string; version: string } | null;
  /** Why it is not ready, for /readyz. */
  reason?: string;
}

/**
 * The face pipeline as the HTTP layer sees it. Errors are AppErrors from
 * ts/errors.ts (bad images: 4xx codes; model trouble: MODEL_UNAVAILABLE,
 * SIDECAR_DIED, SIDECAR_TIMEOUT).
 */
export interface Analyzer {
  analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis>;
  status(): AnalyzerStatus;
}
