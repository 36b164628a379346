import type { Config } from '../config/index.ts';
import type { PrepareOptions } from '../data/prepare.ts';
import type { TrainConfig } from '../train/config.ts';

/** Preparation settings shared by `prepare` and `train`: one crop policy. */
export function prepareOptions(
  config: Config,
  train: Pick<TrainConfig, 'inputSize' | 'margin' | 'split'>,
): PrepareOptions {
  return {
    size: train.inputSize,
    faces: {
      maxSide: config.detector.maxSide,
      minFaceFraction: config.detector.minFaceFraction,
      minScore: config.detector.minScore,
      margin: train.margin,
    },
    detector: detectorLabel(config.detector),
    limits: {
      maxBytes: config.server.maxUploadBytes,
      maxPixels: config.server.maxPixels,
      minSide: config.server.minSide,
    },
    seed: train.split.seed,
    fractions: { val: train.split.val, test: train.split.test },
    groupColumn: train.split.groupColumn,
    chunkSize: 512,
    concurrency: 4,
  };
}

/**
 * The detector and the settings that move its boxes, as recorded with a
 * cache (and part of its folder's key): a change of them prepares anew.
 */
export function detectorLabel(detector: Config['detector']): string {
  if (detector.kind !== 'haar') return detector.kind;
  const { scaleFactor, coarseScaleFactor } = detector;
  const coarse =
    coarseScaleFactor === null ? 'one step' : `coarse ${coarseScaleFactor}`;
  // "plain-grey retry": the search falls back to the unequalised image.
  return `haar (scale ${scaleFactor}, ${coarse}, plain-grey retry)`;
}
