/**
 * The numbers behind the training report's charts and tables, computed from
 * a {@link ReportInput} with the metrics module. Pure functions: no I/O and
 * no HTML, so each series can be tested against the metric it comes from.
 */
import {
  expectedCalibrationError,
  predict,
  reliabilityBins,
  rocAuc,
  rocCurve,
  sigmoid,
  subgroupAccuracy,
  type GroupAccuracy,
  type Label,
  type ReliabilityBin,
} from '../metrics/index.ts';
import { TASKS, type Calibration, type Task } from './evaluate.ts';
import type { EpochEntry } from './loop.ts';
import type { ScoredImage } from './report-input.ts';

export const SPLITS = ['val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** Reliability bins, as in the summaries' ECE. */
export const RELIABILITY_BINS = 10;
/** Most points drawn per ROC curve; the AUC always uses every sample. */
export const ROC_MAX_POINTS = 400;
/** A meta column is shown by subgroup when it has 2 to this many values. */
export const MAX_SUBGROUPS = 12;
/** Numeric meta columns shown in decades rather than value by value. */
export const DECADE_COLUMNS: readonly string[] = ['age'];

/** A chart point; y is null where the value was not measured (a gap). */
export interface XY {
  x: number;
  y: number | null;
}

/** Per-epoch curves, x being the epoch as stored (counted from 0). */
export interface TrainingSeries {
  loss: XY[];
  lossByTask: Record<Task, XY[]>;
  valBalancedAccuracy: Record<Task, XY[]>;
  metric: XY[];
  lr: XY[];
  imagesPerSecond: XY[];
  gradCosine: XY[];
  gradCosineNegative: XY[];
}

/** One ROC curve: a split, a task and a group ("all" or a data set). */
export interface RocSeries {
  split: Split;
  task: Task;
  group: string;
  /** Labelled samples behind the curve. */
  n: number;
  auc: number | null;
  /** (fpr, tpr), thinned to at most {@link ROC_MAX_POINTS}. */
  points: { x: number; y: number }[];
}

/** Reliability of one task's calibrated probabilities on one split. */
export interface ReliabilitySeries {
  split: Split;
  task: Task;
  n: number;
  ece: number | null;
  bins: ReliabilityBin[];
}

/** Accuracy at the calibrated threshold per value of one column. */
export interface SubgroupTable {
  /** "dataset" or a meta.csv column. */
  column: string;
  split: Split;
  task: Task;
  groups: Record<string, GroupAccuracy>;
}

/** A task's labelled samples on one split: labels, logits and the images. */
export interface TaskSamples {
  y: Label[];
  z: number[];
  images: ScoredImage[];
}

/** The images of `split` that carry a label for `task`. */
export function taskSamples(
  scored: readonly ScoredImage[],
  split: Split,
  task: Task,
  group = 'all',
): TaskSamples {
  const out: TaskSamples = { y: [], z: [], images: [] };
  for (const image of scored) {
    const label = image.labels[task];
    if (image.split !== split || label === null) continue;
    if (group !== 'all' && image.dataset !== group) continue;
    out.y.push(label);
    out.z.push(image.logits[task]);
    out.images.push(image);
  }
  return out;
}

/** Calibrated probabilities p = sigmoid(logit / T). */
export function calibrated(z: readonly number[], temperature: number) {
  return z.map((v) => sigmoid(v / temperature));
}

function perEpoch(
  history: readonly EpochEntry[],
  value: (e: EpochEntry) => number | null | undefined,
): XY[] {
  return history.map((e) => ({ x: e.epoch, y: value(e) ?? null }));
}

function perTask(
  value: (task: Task) => (e: EpochEntry) => number | null | undefined,
  history: readonly EpochEntry[],
): Record<Task, XY[]> {
  const entries = TASKS.map((t) => [t, perEpoch(history, value(t))]);
  return Object.fromEntries(entries) as Record<Task, XY[]>;
}

/** Loss, validation metrics, schedule, speed and conflict per epoch. */
export function trainingSeries(history: readonly EpochEntry[]) {
  const series: TrainingSeries = {
    loss: perEpoch(history, (e) => e.loss),
    lossByTask: perTask((t) => (e) => e.losses[t], history),
    valBalancedAccuracy: perTask(
      (t) => (e) => e.val.all?.[t]?.balanced_accuracy,
      history,
    ),
    metric: perEpoch(history, (e) => e.metric),
    lr: perEpoch(history, (e) => e.lr),
    imagesPerSecond: perEpoch(history, (e) => e.imagesPerSecond),
    gradCosine: perEpoch(history, (e) => e.gradCosine),
    gradCosineNegative: perEpoch(history, (e) => e.gradCosineNegative),
  };
  return series;
}

/**
 * Keeps the curve's shape with at most about `max` points: fpr + tpr grows
 * along the curve from 0 to 2, so a point is kept each time that sum enters
 * a new step of 2 / max, and the end point is always kept.
 */
export function thinCurve<T extends { x: number; y: number }>(
  points: readonly T[],
  max = ROC_MAX_POINTS,
): T[] {
  if (points.length <= max) return [...points];
  const step = 2 / (max - 1);
  const kept: T[] = [points[0]];
  let last = 0;
  for (let k = 1; k < points.length - 1; k++) {
    const cell = Math.floor((points[k].x + points[k].y) / step);
    if (cell > last) {
      kept.push(points[k]);
      last = cell;
    }
  }
  kept.push(points[points.length - 1]);
  return kept;
}

/** Data set names found in the scored images, sorted. */
export function datasetsOf(scored: readonly ScoredImage[]): string[] {
  return [...new Set(scored.map((s) => s.dataset))].sort();
}

/**
 * ROC curves per split and task, for "all" then each data set. A group
 * with only one class has no curve and is left out.
 */
export function rocSeries(scored: readonly ScoredImage[]): RocSeries[] {
  const groups = ['all', ...datasetsOf(scored)];
  const out: RocSeries[] = [];
  for (const split of SPLITS) {
    for (const task of TASKS) {
      for (const group of groups) {
        const { y, z } = taskSamples(scored, split, task, group);
        const curve = rocCurve(y, z);
        if (!curve) continue;
        const points = curve.map((p) => ({ x: p.fpr, y: p.tpr }));
        out.push({
          split,
          task,
          group,
          n: y.length,
          auc: rocAuc(y, z),
          points: thinCurve(points),
        });
      }
    }
  }
  return out;
}

/** Reliability bins and ECE of the calibrated probabilities. */
export function reliabilitySeries(
  scored: readonly ScoredImage[],
  calibration: Calibration,
): ReliabilitySeries[] {
  const out: ReliabilitySeries[] = [];
  for (const task of TASKS) {
    for (const split of SPLITS) {
      const { y, z } = taskSamples(scored, split, task);
      const p = calibrated(z, calibration.temperature[task]);
      out.push({
        split,
        task,
        n: y.length,
        ece: expectedCalibrationError(y, p, RELIABILITY_BINS),
        bins: reliabilityBins(y, p, RELIABILITY_BINS),
      });
    }
  }
  return out;
}

/** "20–29" for 27; null for a value that is not a number. */
export function decadeOf(value: string): string | null {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) return null;
  const lo = Math.floor(n / 10) * 10;
  return `${lo}–${lo + 9}`;
}

/** How one image is grouped by a column; null leaves it out. */
export type Grouping = (image: ScoredImage) => string | null;

function metaGrouping(column: string): Grouping {
  const decades = DECADE_COLUMNS.includes(column.toLowerCase());
  return (image) => {
    const raw = image.meta[column];
    if (raw === undefined || raw.trim() === '') return null;
    return decades ? decadeOf(raw) : raw;
  };
}

/**
 * The columns to break accuracy down by: the data set, then every meta
 * column with 2 to {@link MAX_SUBGROUPS} distinct values (ages in decades),
 * so identities and file-like columns are skipped.
 */
export function subgroupColumns(
  scored: readonly ScoredImage[],
): { column: string; group: Grouping }[] {
  const columns = new Set(scored.flatMap((s) => Object.keys(s.meta)));
  const out: { column: string; group: Grouping }[] = [
    { column: 'dataset', group: (s) => s.dataset },
  ];
  for (const column of [...columns].sort()) {
    const group = metaGrouping(column);
    const values = new Set(scored.map(group));
    values.delete(null);
    if (values.size >= 2 && values.size <= MAX_SUBGROUPS) {
      out.push({ column, group });
    }
  }
  return out;
}

const naturalOrder = new Intl.Collator('en', { numeric: true });

/** Natural order: "9" before "10", "20–29" before "100–109". */
function sortGroups(
  groups: Record<string, GroupAccuracy>,
): Record<string, GroupAccuracy> {
  const keys = Object.keys(groups).sort(naturalOrder.compare);
  return Object.fromEntries(keys.map((k) => [k, groups[k]]));
}

/**
 * Accuracy per subgroup at the calibrated threshold (p = sigmoid(z / T),
 * positive when p >= threshold), per column, split and task. A task with
 * no labelled image in any group of a column gets no table there.
 */
export function subgroupTables(
  scored: readonly ScoredImage[],
  calibration: Calibration,
): SubgroupTable[] {
  const out: SubgroupTable[] = [];
  for (const { column, group } of subgroupColumns(scored)) {
    for (const task of TASKS) {
      for (const split of SPLITS) {
        const { y, z, images } = taskSamples(scored, split, task);
        const p = calibrated(z, calibration.temperature[task]);
        const predicted = predict(p, calibration.thresholds[task]);
        const groups = subgroupAccuracy(y, predicted, images.map(group));
        if (Object.keys(groups).length === 0) continue;
        out.push({ column, split, task, groups: sortGroups(groups) });
      }
    }
  }
  return out;
}
