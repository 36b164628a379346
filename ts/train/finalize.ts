import path from 'node:path';
import { writeAtomic } from '../data/cache.ts';
import {
  balancedAccuracy,
  confusionMatrix,
  fitTemperature,
  predict,
  sigmoid,
  type Label,
} from '../metrics/index.ts';
import type { ModelCard } from '../protocol/index.ts';
import type { Combined } from './dataset.ts';
import type { TrainEngine } from './engine.ts';
import {
  TASKS,
  labelsOf,
  logitsFor,
  scoreSplit,
  type Calibration,
  type Logits,
} from './evaluate.ts';
import { FILES, type LoopState } from './loop.ts';

export interface FinalResult {
  card: Partial<ModelCard>;
  calibration: Calibration;
  val: ReturnType<typeof scoreSplit>;
  test: ReturnType<typeof scoreSplit>;
  logits: { val: Logits; test: Logits };
}

/**
 * Fits each task's temperature on the validation split (so confidences are
 * calibrated), then picks the threshold that maximises the mean over data
 * sets of their balanced accuracy on the calibrated probabilities (0.5 unless
 * another beats it by `thresholdMinGain`). Each data
 * set counts equally: a large set with another base rate (SMILEsmileD has 28 %
 * smiling) must not drag the threshold away from what suits the others.
 * With `thresholdOn`, only those data sets choose the threshold.
 */
export function calibrate(
  data: Combined,
  items: ReturnType<Combined['items']>,
  logits: Logits,
  thresholdOn: string[] | null = null,
  thresholdMinGain = 0,
): Calibration {
  const cal: Calibration = {
    thresholds: { gender: 0.5, smile: 0.5 },
    temperature: { gender: 1, smile: 1 },
  };
  for (const task of TASKS) {
    const labels = labelsOf(data, items, task);
    const y: Label[] = [];
    const z: number[] = [];
    const groups: string[] = [];
    labels.forEach((l, i) => {
      if (l === null) return;
      y.push(l);
      z.push(logits[task][i]);
      groups.push(data.record(items[i]).dataset);
    });
    const fit = fitTemperature(y, z);
    if (!fit) continue;
    cal.temperature[task] = fit.temperature;
    const p = z.map((v) => sigmoid(v / fit.temperature));
    const keep = groups.map((g) => !thresholdOn || thresholdOn.includes(g));
    if (!keep.some(Boolean)) continue;
    cal.thresholds[task] = groupThreshold(
      y.filter((_, i) => keep[i]),
      p.filter((_, i) => keep[i]),
      groups.filter((_, i) => keep[i]),
      thresholdMinGain,
    );
  }
  return cal;
}

/** Grid of candidate thresholds, 0.05 … 0.95, nearest 0.5 first on ties. */
const CANDIDATES = Array.from({ length: 181 }, (_, i) => 0.05 + i * 0.005).sort(
  (a, b) => Math.abs(a - 0.5) - Math.abs(b - 0.5),
);

/**
 * The threshold maximising the mean per-group balanced accuracy, or 0.5 when
 * the best one beats 0.5 by less than `minGain`.
 */
export function groupThreshold(
  y: Label[],
  p: number[],
  groups: string[],
  minGain = 0,
): number {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => byGroup.set(g, [...(byGroup.get(g) ?? []), i]));
  const scoreAt = (t: number): number => {
    let sum = 0;
    let counted = 0;
    for (const idx of byGroup.values()) {
      const cm = confusionMatrix(
        idx.map((i) => y[i]),
        predict(
          idx.map((i) => p[i]),
          t,
        ),
      );
      const ba = balancedAccuracy(cm);
      if (ba === null) continue;
      sum += ba;
      counted++;
    }
    return counted ? sum / counted : -1;
  };
  let best = { t: 0.5, score: -1 };
  for (const t of CANDIDATES) {
    const score = scoreAt(t);
    if (score > best.score + 1e-12) best = { t, score };
  }
  if (best.score - scoreAt(0.5) < minGain) return 0.5;
  return Math.round(best.t * 1000) / 1000;
}

/**
 * Loads the best checkpoint, calibrates it on validation, scores validation
 * and test with that calibration, and writes `model.pt` + `model.json` and
 * `metrics.json` into the run folder.
 */
export async function finalize(
  engine: TrainEngine,
  data: Combined,
  outDir: string,
  state: LoopState,
  baseCard: Partial<ModelCard>,
  evalBatchSize: number,
  threshold: { on: string[] | null; minGain: number } = {
    on: null,
    minGain: 0,
  },
): Promise<FinalResult> {
  if (!state.best) throw new Error('No best checkpoint: no epoch finished');
  await engine.load({
    path: path.join(outDir, FILES.best),
    include_optimizer: false,
  });
  const valItems = data.items('val');
  const testItems = data.items('test');
  const valLogits = await logitsFor(engine, data, valItems, evalBatchSize);
  const testLogits = await logitsFor(engine, data, testItems, evalBatchSize);
  const calibration = calibrate(
    data,
    valItems,
    valLogits,
    threshold.on,
    threshold.minGain,
  );
  const val = scoreSplit(data, valItems, valLogits, calibration);
  const test = scoreSplit(data, testItems, testLogits, calibration);
  const card: Partial<ModelCard> = {
    ...baseCard,
    epoch: state.best.epoch,
    metric: { name: 'mean_balanced_accuracy', value: state.best.metric },
    thresholds: calibration.thresholds,
    temperature: calibration.temperature,
    metrics: { val: compact(val), test: compact(test) },
  };
  await engine.save({
    path: path.join(outDir, 'model.pt'),
    card,
    include_optimizer: false,
  });
  await writeAtomic(
    path.join(outDir, 'metrics.json'),
    JSON.stringify(
      { best: state.best, calibration, val, test, history: state.history },
      null,
      2,
    ),
  );
  return {
    card,
    calibration,
    val,
    test,
    logits: { val: valLogits, test: testLogits },
  };
}

/** The headline numbers per group and task, for the model card. */
function compact(scores: ReturnType<typeof scoreSplit>) {
  const out: Record<string, Record<string, Record<string, number | null>>> = {};
  for (const [group, tasks] of Object.entries(scores)) {
    out[group] = {};
    for (const [task, s] of Object.entries(tasks)) {
      if (!s) continue;
      out[group][task] = {
        n: s.n,
        accuracy: s.accuracy,
        balanced_accuracy: s.balanced_accuracy,
        f1: s.f1,
        auc: s.auc,
        ece: s.ece,
      };
    }
  }
  return out;
}
