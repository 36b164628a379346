import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Config } from './load.ts';

/** The part of the config the Python sidecar receives, in its own names. */
export interface SidecarSlice {
  /** Torch CPU threads; the config's 0 ("all cores") is resolved here. */
  threads: number;
  device: string;
  max_message_bytes: number;
  /** Serve through a compiled (TorchScript + oneDNN) trunk on CPU. */
  optimize_inference: boolean;
  detector: {
    kind: 'haar' | 'res10';
    haar_cascade: string;
    res10_dir: string | null;
    /** Step between the Haar cascade's search scales. */
    scale_factor: number;
    /** Step of the first, coarse search; null: one search at `scale_factor`. */
    coarse_scale_factor: number | null;
  };
  /** Absolute paths, or null when not configured or not on disk. */
  model: { checkpoint: string | null; pretrained: string | null };
}

/**
 * The JSON handed to the sidecar with `--config-json`. Model files that do
 * not exist are passed as null, so the sidecar starts without a model (or
 * with a randomly initialised backbone) instead of failing to load.
 */
export function sidecarSlice(config: Config): SidecarSlice {
  const { sidecar, detector, model } = config;
  return {
    threads: sidecar.threads === 0 ? availableParallelism() : sidecar.threads,
    device: sidecar.device,
    max_message_bytes: sidecar.maxMessageBytes,
    optimize_inference: sidecar.optimize,
    detector: {
      kind: detector.kind,
      haar_cascade: detector.haarCascade,
      res10_dir: detector.res10Dir,
      scale_factor: detector.scaleFactor,
      coarse_scale_factor: detector.coarseScaleFactor,
    },
    model: {
      checkpoint: existingOrNull(model.checkpoint),
      pretrained: existingOrNull(model.pretrained),
    },
  };
}

function existingOrNull(path: string | null): string | null {
  return path !== null && existsSync(path) ? path : null;
}
