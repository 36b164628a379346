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
    detector: config.detector.kind,
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
