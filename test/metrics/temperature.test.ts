import { describe, expect, it } from 'vitest';
import {
  binaryNll,
  fitTemperature,
  sigmoid,
  type Label,
} from '../../ts/metrics/index.ts';

/** Small seeded PRNG (mulberry32) so the synthetic data is the same each run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Labels drawn from true logits z, and model logits z·T (overconfident). */
function synthetic(n: number, trueT: number, seed: number) {
  const rand = rng(seed);
  const labels: Label[] = [];
  const logits: number[] = [];
  for (let i = 0; i < n; i++) {
    // Box–Muller: z ~ N(0, 2²)
    const z =
      2 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    labels.push(rand() < sigmoid(z) ? 1 : 0);
    logits.push(z * trueT);
  }
  return { labels, logits };
}

describe('binary NLL', () => {
  it('is log 2 for logits of 0', () => {
    expect(binaryNll([1, 0], [0, 0])).toBeCloseTo(Math.LN2, 15);
  });

  it('applies the temperature before the sigmoid', () => {
    // -log σ(4 / 2) = log(1 + e^-2)
    expect(binaryNll([1], [4], 2)).toBeCloseTo(Math.log1p(Math.exp(-2)), 15);
  });

  it('stays finite for huge logits and is null with no samples', () => {
    expect(binaryNll([1, 0], [1000, -1000])).toBe(0);
    expect(binaryNll([1], [-1000])).toBeCloseTo(1000, 9);
    expect(binaryNll([], [])).toBeNull();
  });
});

describe('temperature fitting', () => {
  it('recovers the temperature of overconfident synthetic logits', () => {
    const { labels, logits } = synthetic(20_000, 3, 7);
    const fit = fitTemperature(labels, logits);
    expect(fit).not.toBeNull();
    expect(fit!.temperature).toBeGreaterThan(2.8);
    expect(fit!.temperature).toBeLessThan(3.2);
    expect(fit!.nll).toBeLessThan(fit!.nllBefore);
    expect(fit!.atBound).toBe(false);
  });

  it('finds T below 1 for underconfident logits', () => {
    const { labels, logits } = synthetic(20_000, 0.5, 11);
    const fit = fitTemperature(labels, logits);
    expect(fit!.temperature).toBeGreaterThan(0.45);
    expect(fit!.temperature).toBeLessThan(0.55);
  });

  it('is deterministic', () => {
    const { labels, logits } = synthetic(2_000, 2, 3);
    expect(fitTemperature(labels, logits)).toEqual(
      fitTemperature(labels, logits),
    );
  });

  it('reports hitting the bound when the data is separable', () => {
    const fit = fitTemperature([1, 1, 0, 0], [2, 3, -2, -1]);
    expect(fit!.atBound).toBe(true);
    expect(fit!.temperature).toBeCloseTo(0.05, 5);
  });

  it('keeps T = 1 when every logit is 0, and is null with no samples', () => {
    expect(fitTemperature([1, 0], [0, 0])?.temperature).toBe(1);
    expect(fitTemperature([], [])).toBeNull();
  });

  it('rejects an empty search range', () => {
    expect(() => fitTemperature([1], [1], { min: 2, max: 1 })).toThrow(
      RangeError,
    );
  });
});
