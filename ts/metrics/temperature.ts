import { softplus } from './logistic.ts';
import type { Label } from './types.ts';
import { checkPaired, checkRange } from './validate.ts';

/**
 * Mean binary negative log-likelihood (nats) of `sigmoid(logit / T)` against
 * the labels. Null when there are no samples.
 */
export function binaryNll(
  labels: readonly Label[],
  logits: readonly number[],
  temperature = 1,
): number | null {
  checkPaired(labels, logits, 'logits');
  if (!(temperature > 0)) {
    throw new RangeError(
      `Expected temperature > 0 but received ${temperature}`,
    );
  }
  if (labels.length === 0) return null;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    // -log σ(z) = softplus(-z) and -log(1 - σ(z)) = softplus(z).
    const z = logits[i] / temperature;
    sum += softplus(labels[i] === 1 ? -z : z);
  }
  return sum / labels.length;
}

/** Result of {@link fitTemperature}. */
export interface TemperatureFit {
  /** T > 0; calibrated probability is sigmoid(logit / T). */
  temperature: number;
  /** Mean NLL at the fitted T. */
  nll: number;
  /** Mean NLL at T = 1, for comparison. */
  nllBefore: number;
  /**
   * True when T landed on an end of the search range: the data is (nearly)
   * separable or all one class, and the value is a limit, not an optimum.
   */
  atBound: boolean;
}

/** Options of {@link fitTemperature}. */
export interface TemperatureOptions {
  /** Lowest T searched (default 0.05). */
  min?: number;
  /** Highest T searched (default 20). */
  max?: number;
  /** Stop when the bracket on log T is narrower than this (default 1e-7). */
  tolerance?: number;
}

const INV_PHI = (Math.sqrt(5) - 1) / 2;

/** Golden-section search for the minimum of a unimodal `f` on [a, b]. */
function goldenMinimum(
  f: (x: number) => number,
  a: number,
  b: number,
  tolerance: number,
): number {
  let c = b - INV_PHI * (b - a);
  let d = a + INV_PHI * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tolerance) {
    if (fc <= fd) {
      [b, d, fd] = [d, c, fc];
      c = b - INV_PHI * (b - a);
      fc = f(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + INV_PHI * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

/**
 * Fits the temperature T > 0 that minimises {@link binaryNll}, by
 * golden-section search on log T. The NLL is convex in 1/T, hence unimodal
 * in log T, so the search finds the global minimum in the range and is
 * deterministic. Null when there are no samples; T = 1 when every logit is
 * 0 (no T changes anything).
 */
export function fitTemperature(
  labels: readonly Label[],
  logits: readonly number[],
  { min = 0.05, max = 20, tolerance = 1e-7 }: TemperatureOptions = {},
): TemperatureFit | null {
  checkPaired(labels, logits, 'logits');
  checkRange('min temperature', min, Number.MIN_VALUE, max);
  checkRange('max temperature', max, min, Number.MAX_VALUE);
  const nllAt = (t: number) => binaryNll(labels, logits, t) as number;
  if (labels.length === 0) return null;
  const nllBefore = nllAt(1);
  if (logits.every((z) => z === 0)) {
    return { temperature: 1, nll: nllBefore, nllBefore, atBound: false };
  }

  const lo = Math.log(min);
  const hi = Math.log(max);
  const x = goldenMinimum((u) => nllAt(Math.exp(u)), lo, hi, tolerance);
  const atBound = x - lo < 10 * tolerance || hi - x < 10 * tolerance;
  const temperature = Math.exp(x);
  return { temperature, nll: nllAt(temperature), nllBefore, atBound };
}
