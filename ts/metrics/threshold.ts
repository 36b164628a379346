import { compareNumbers } from './roc.ts';
import type { Label } from './types.ts';
import { checkPaired } from './validate.ts';

/** The chosen decision threshold and how it scored. */
export interface ThresholdChoice {
  /** Call a sample positive when `score >= threshold`. */
  threshold: number;
  /** Balanced accuracy at that threshold on the given data, in [0, 1]. */
  balancedAccuracy: number;
}

/** How many entries of ascending `sorted` are below `t` (binary search). */
function countBelow(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Candidate thresholds: `center`, the lowest score (everything positive) and
 * the midpoint between each pair of adjacent distinct scores, so that every
 * way of splitting the sorted scores is tried and no threshold sits exactly
 * on a validation score unless it must.
 */
function candidates(scores: readonly number[], center: number): number[] {
  const distinct = [...new Set(scores)].sort(compareNumbers);
  const out = [center, distinct[0]];
  for (let k = 1; k < distinct.length; k++) {
    out.push((distinct[k - 1] + distinct[k]) / 2);
  }
  return out;
}

/**
 * Picks the decision threshold that maximises balanced accuracy on
 * validation scores (usually calibrated probabilities). Among equally good
 * thresholds it takes the one closest to `center` (default 0.5), then the
 * lower one, so the choice is deterministic and stays at 0.5 when 0.5 is as
 * good as anything else. Null when either class is empty: there is nothing
 * to balance, and callers should keep their default.
 */
export function chooseThreshold(
  labels: readonly Label[],
  scores: readonly number[],
  { center = 0.5 }: { center?: number } = {},
): ThresholdChoice | null {
  checkPaired(labels, scores);
  const pos = scores.filter((_, i) => labels[i] === 1).sort(compareNumbers);
  const neg = scores.filter((_, i) => labels[i] === 0).sort(compareNumbers);
  if (pos.length === 0 || neg.length === 0) return null;

  let best = { t: center, key: -1 };
  for (const t of candidates(scores, center)) {
    // tp·N + tn·P is balanced accuracy times 2PN, compared exactly in integers.
    const tp = pos.length - countBelow(pos, t);
    const tn = countBelow(neg, t);
    const key = tp * neg.length + tn * pos.length;
    const closer =
      Math.abs(t - center) < Math.abs(best.t - center) ||
      (Math.abs(t - center) === Math.abs(best.t - center) && t < best.t);
    if (key > best.key || (key === best.key && closer)) best = { t, key };
  }
  return {
    threshold: best.t,
    balancedAccuracy: best.key / (2 * pos.length * neg.length),
  };
}
