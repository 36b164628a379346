import path from 'node:path';
import type { Config } from '../config/index.ts';
import { loadPrepared, type PreparedSet } from '../data/cache.ts';
import { cacheDirFor, prepareDataset } from '../data/prepare.ts';
import type { Logger } from '../logging.ts';
import type { FaceDetector } from '../pipeline/faces.ts';
import type { TrainConfig } from '../train/config.ts';
import { prepareOptions } from './data-options.ts';
import { progressBar } from './progress.ts';

/**
 * Prepares every data set folder (resuming any half-done one) and loads the
 * results. Prints counts and label balance per data set and split.
 */
export async function prepareAll(
  sources: string[],
  cacheRoot: string,
  config: Config,
  train: Pick<TrainConfig, 'inputSize' | 'margin' | 'split'>,
  detector: FaceDetector,
  log: Logger,
): Promise<PreparedSet[]> {
  const opts = prepareOptions(config, train);
  const sets: PreparedSet[] = [];
  for (const source of sources) {
    const dir = cacheDirFor(cacheRoot, source, opts);
    const bar = progressBar(
      `${path.basename(source).padEnd(20)} [{bar}] {value}/{total} | ETA {eta}s`,
    );
    bar.start(1, 0);
    const manifest = await prepareDataset(source, dir, detector, {
      ...opts,
      onProgress: (done, total) => {
        bar.setTotal(total);
        bar.update(done);
      },
      onSkip: (file, reason) =>
        log.warn({ file, reason }, 'image skipped: cannot be decoded'),
    });
    bar.stop();
    const set = await loadPrepared(dir);
    log.info(
      {
        dataset: manifest.dataset,
        dir,
        images: manifest.count,
        skipped: manifest.skipped.length,
        ...balance(set),
      },
      'data set ready',
    );
    sets.push(set);
  }
  return sets;
}

/** Counts per split, label balance, and how often the detector found a face. */
export function balance(set: PreparedSet): Record<string, unknown> {
  const out: Record<string, Record<string, number>> = {};
  let detected = 0;
  for (const r of set.records) {
    const s = (out[r.split] ??= {
      n: 0,
      male: 0,
      female: 0,
      smiling: 0,
      not_smiling: 0,
    });
    s.n++;
    if (r.male === 1) s.male++;
    if (r.male === 0) s.female++;
    if (r.smiling === 1) s.smiling++;
    if (r.smiling === 0) s.not_smiling++;
    if (r.detected) detected++;
  }
  return {
    splits: out,
    faceDetected: detected / Math.max(1, set.records.length),
  };
}
