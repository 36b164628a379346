import type { Label } from './types.ts';
import { checkPaired, ratio } from './validate.ts';

/** One equal-width bin of a reliability diagram. */
export interface ReliabilityBin {
  /** Lower edge (inclusive), in [0, 1]. */
  lo: number;
  /** Upper edge (exclusive, except 1 for the last bin). */
  hi: number;
  /** Samples whose predicted probability falls in the bin. */
  count: number;
  /** Mean predicted probability of the positive class; null when empty. */
  meanProbability: number | null;
  /** Observed fraction of positives; null when empty. */
  fractionPositive: number | null;
}

function checkBins(bins: number): void {
  if (!(Number.isInteger(bins) && bins >= 1)) {
    throw new RangeError(
      `Expected a whole number of bins >= 1 but got ${bins}`,
    );
  }
}

/**
 * Reliability diagram of the positive class: predicted probability against
 * observed frequency, in `bins` equal-width bins over [0, 1] (default 10).
 * Probabilities must lie in [0, 1]; 1 goes to the last bin.
 */
export function reliabilityBins(
  labels: readonly Label[],
  probabilities: readonly number[],
  bins = 10,
): ReliabilityBin[] {
  checkPaired(labels, probabilities, 'probabilities');
  checkBins(bins);
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  probabilities.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`Expected a probability at ${i} but got ${p}`);
    }
    const b = Math.min(Math.floor(p * bins), bins - 1);
    count[b]++;
    sumP[b] += p;
    sumY[b] += labels[i];
  });
  return count.map((n, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: n,
    meanProbability: ratio(sumP[b], n),
    fractionPositive: ratio(sumY[b], n),
  }));
}

/**
 * Expected calibration error of the positive class: the count-weighted mean
 * over {@link reliabilityBins} of |mean probability − fraction positive|,
 * in [0, 1]. (This is the binary form; the "top-label" ECE of multi-class
 * papers bins max(p, 1 − p) instead and can differ.) Null with no samples.
 */
export function expectedCalibrationError(
  labels: readonly Label[],
  probabilities: readonly number[],
  bins = 10,
): number | null {
  const table = reliabilityBins(labels, probabilities, bins);
  if (labels.length === 0) return null;
  let sum = 0;
  for (const bin of table) {
    if (bin.count === 0) continue;
    const gap = (bin.meanProbability as number) - (bin.fractionPositive ?? 0);
    sum += bin.count * Math.abs(gap);
  }
  return sum / labels.length;
}
