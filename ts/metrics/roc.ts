import type { Label } from './types.ts';
import { checkPaired } from './validate.ts';

/** One point of a ROC curve. */
export interface RocPoint {
  /**
   * Samples with `score >= threshold` are called positive. The first point
   * uses `Infinity` (nothing positive); JSON.stringify writes it as null.
   */
  threshold: number;
  /** False positive rate in [0, 1]. */
  fpr: number;
  /** True positive rate in [0, 1]. */
  tpr: number;
}

/** -1, 0 or 1; unlike `a - b` it is 0 for two equal infinities. */
export function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Indices of `scores` sorted by score, highest first (stable). */
function byScoreDescending(scores: readonly number[]): number[] {
  return scores
    .map((_, i) => i)
    .sort((a, b) => compareNumbers(scores[b], scores[a]));
}

/**
 * ROC curve with one point per distinct score, from (0, 0) to (1, 1). Tied
 * scores move the curve diagonally in one step, never in a staircase whose
 * shape would depend on input order. Null when either class is empty.
 */
export function rocCurve(
  labels: readonly Label[],
  scores: readonly number[],
): RocPoint[] | null {
  checkPaired(labels, scores);
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;

  const order = byScoreDescending(scores);
  const points: RocPoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (labels[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    points.push({
      threshold: scores[i],
      fpr: fp / negatives,
      tpr: tp / positives,
    });
  }
  return points;
}

/** Area under a polyline of ROC points by the trapezoid rule. */
export function trapezoidAuc(points: readonly RocPoint[]): number {
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1];
    const b = points[k];
    area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
  }
  return area;
}

/** 1-based ranks of `scores` in ascending order; ties share their mean. */
export function averageRanks(scores: readonly number[]): number[] {
  const order = scores
    .map((_, i) => i)
    .sort((a, b) => compareNumbers(scores[a], scores[b]));
  const ranks = new Array<number>(scores.length);
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && scores[order[end]] === scores[order[start]]) {
      end++;
    }
    const mean = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = mean;
    start = end;
  }
  return ranks;
}

/**
 * Area under the ROC curve in [0, 1], as the Mann–Whitney statistic
 * U / (P·N) with average ranks: the probability that a random positive
 * scores above a random negative, counting ties as one half. Any monotone
 * transform of the scores gives the same value; pass logits rather than
 * probabilities so that saturated sigmoids do not create false ties.
 * Null when either class is empty.
 */
export function rocAuc(
  labels: readonly Label[],
  scores: readonly number[],
): number | null {
  checkPaired(labels, scores);
  const ranks = averageRanks(scores);
  let positives = 0;
  let rankSum = 0;
  labels.forEach((y, i) => {
    if (y === 1) {
      positives++;
      rankSum += ranks[i];
    }
  });
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const u = rankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}
