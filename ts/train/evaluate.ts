import { summarize, type Summary } from '../metrics/index.ts';
import type { Combined, Item } from './dataset.ts';
import type { TrainEngine } from './engine.ts';

export const TASKS = ['gender', 'smile'] as const;
export type Task = (typeof TASKS)[number];

/** Per task: [negative class, positive class], as in the model card. */
export const CLASS_NAMES: Readonly<Record<Task, readonly [string, string]>> = {
  gender: ['female', 'male'],
  smile: ['not_smiling', 'smiling'],
};

/** Logits of every item, in order, by task. */
export type Logits = Record<Task, number[]>;

/** Runs the model in eval mode over `items` (no augmentation). */
export async function logitsFor(
  engine: TrainEngine,
  data: Combined,
  items: Item[],
  batchSize: number,
): Promise<Logits> {
  const out: Logits = { gender: [], smile: [] };
  for (let i = 0; i < items.length; i += batchSize) {
    const batch = data.batch(items.slice(i, i + batchSize));
    const { logits } = await engine.evalStep(batch.images);
    out.gender.push(...logits.gender);
    out.smile.push(...logits.smile);
  }
  return out;
}

/** A task's labels for `items` (null where unknown). */
export function labelsOf(
  data: Combined,
  items: Item[],
  task: Task,
): (0 | 1 | null)[] {
  return items.map((item) => {
    const r = data.record(item);
    return task === 'gender' ? r.male : r.smiling;
  });
}

export interface Calibration {
  thresholds: Record<Task, number>;
  temperature: Record<Task, number>;
}

export const UNCALIBRATED: Calibration = {
  thresholds: { gender: 0.5, smile: 0.5 },
  temperature: { gender: 1, smile: 1 },
};

/**
 * Per-task metrics over all items and per data set. A task without labels
 * in a group is left out of that group.
 */
export function scoreSplit(
  data: Combined,
  items: Item[],
  logits: Logits,
  cal: Calibration,
): Record<string, Partial<Record<Task, Summary>>> {
  const groups: Record<string, number[]> = { all: items.map((_, i) => i) };
  items.forEach((item, i) => {
    const name = data.record(item).dataset;
    (groups[name] ??= []).push(i);
  });
  const out: Record<string, Partial<Record<Task, Summary>>> = {};
  for (const [name, idx] of Object.entries(groups)) {
    out[name] = {};
    for (const task of TASKS) {
      const labels = idx.map((i) => labelsOf(data, [items[i]], task)[0]);
      if (labels.every((l) => l === null)) continue;
      out[name][task] = summarize(
        labels,
        idx.map((i) => logits[task][i]),
        {
          threshold: cal.thresholds[task],
          temperature: cal.temperature[task],
        },
      );
    }
  }
  return out;
}

/** The selection metric: mean balanced accuracy over tasks (all items). */
export function selectionMetric(
  scores: Record<string, Partial<Record<Task, Summary>>>,
): number {
  const values = TASKS.map((t) => scores.all?.[t]?.balanced_accuracy).filter(
    (v): v is number => typeof v === 'number',
  );
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}
