import { describe, expect, it } from 'vitest';
import { addCosine, emptyCosine } from '../../ts/metrics/index.ts';

describe('running mean of gradient cosine', () => {
  it('averages measured steps, skips nulls and counts conflicts', () => {
    const steps = [0.5, null, -0.25, 1.0000001];
    const summary = steps.reduce(addCosine, emptyCosine());
    // clamped 1.0000001 → 1; (0.5 − 0.25 + 1) / 3
    expect(summary.count).toBe(3);
    expect(summary.mean).toBeCloseTo(1.25 / 3, 12);
    expect(summary.conflicting).toBe(1);
  });

  it('has no mean before the first step and does not mutate its input', () => {
    const start = emptyCosine();
    expect(start.mean).toBeNull();
    addCosine(start, 0.3);
    expect(start).toEqual({ count: 0, mean: null, conflicting: 0 });
  });

  it('rejects a value that is not a cosine', () => {
    expect(() => addCosine(emptyCosine(), 1.5)).toThrow(RangeError);
    expect(() => addCosine(emptyCosine(), NaN)).toThrow(RangeError);
  });
});
