import type { Label } from './types.ts';

/**
 * Throws a RangeError unless `labels` are all 0 or 1 and `values` has the
 * same length with no NaN. Infinite values are allowed (saturated logits).
 * These are caller bugs, not data conditions, so they throw.
 */
export function checkPaired(
  labels: readonly Label[],
  values: readonly number[],
  what = 'scores',
): void {
  if (labels.length !== values.length) {
    throw new RangeError(
      `Expected ${what} of length ${labels.length} (one per label) ` +
        `but received ${values.length}`,
    );
  }
  labels.forEach((y, i) => {
    if (y !== 0 && y !== 1) {
      throw new RangeError(`Expected label 0 or 1 at ${i} but received ${y}`);
    }
  });
  values.forEach((v, i) => {
    if (Number.isNaN(v)) {
      throw new RangeError(`Expected a number in ${what} at ${i} but got NaN`);
    }
  });
}

/** Throws a RangeError unless `value` is a finite number inside [lo, hi]. */
export function checkRange(
  name: string,
  value: number,
  lo: number,
  hi: number,
): void {
  if (!(Number.isFinite(value) && value >= lo && value <= hi)) {
    throw new RangeError(
      `Expected ${name} in [${lo}, ${hi}] but received ${value}`,
    );
  }
}

/** `num / den`, or null when `den` is 0 (the metric is undefined). */
export function ratio(num: number, den: number): number | null {
  return den === 0 ? null : num / den;
}
