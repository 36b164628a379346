import path from 'node:path';
import { writeAtomic } from '../data/cache.ts';
import {
  chooseThreshold,
  fitTemperature,
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
 * calibrated), then picks the threshold that maximises balanced accuracy on
 * the calibrated probabilities.
 */
export function calibrate(
  data: Combined,
  items: ReturnType<Combined['items']>,
  logits: Logits,
): Calibration {
  const cal: Calibration = {
    thresholds: { gender: 0.5, smile: 0.5 },
    temperature: { gender: 1, smile: 1 },
  };
  for (const task of TASKS) {
    const labels = labelsOf(data, items, task);
    const y: Label[] = [];
    const z: number[] = [];
    labels.forEach((l, i) => {
      if (l === null) return;
      y.push(l);
      z.push(logits[task][i]);
    });
    const fit = fitTemperature(y, z);
    if (!fit) continue;
    cal.temperature[task] = fit.temperature;
    const choice = chooseThreshold(
      y,
      z.map((v) => sigmoid(v / fit.temperature)),
    );
    if (choice) cal.thresholds[task] = choice.threshold;
  }
  return cal;
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
  const calibration = calibrate(data, valItems, valLogits);
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
