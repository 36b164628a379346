import { describe, expect, it } from 'vitest';
import { chooseThreshold, type Label } from '../../ts/metrics/index.ts';

describe('threshold choice on validation scores', () => {
  it('prefers 0.5 when it ties with the best other threshold', () => {
    // negatives 0.1 0.2 0.3 0.4, positives 0.35 0.6 0.7 0.8 (P = N = 4)
    // t = 0.325 (between .3 and .35): tp 4, tn 3 → (4/4 + 3/4) / 2 = 0.875
    // t = 0.5:                         tp 3, tn 4 → (3/4 + 4/4) / 2 = 0.875
    const labels: Label[] = [0, 0, 0, 1, 0, 1, 1, 1];
    const scores = [0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8];
    expect(chooseThreshold(labels, scores)).toEqual({
      threshold: 0.5,
      balancedAccuracy: 0.875,
    });
  });

  it('moves to the midpoint of the gap that separates the classes', () => {
    // negatives 0.1 0.2, positives 0.25 0.3 0.6 0.7: only t in (0.2, 0.25]
    // gets every sample right; 0.5 would miss two positives (BA 0.75).
    const labels: Label[] = [0, 0, 1, 1, 1, 1];
    const scores = [0.1, 0.2, 0.25, 0.3, 0.6, 0.7];
    const choice = chooseThreshold(labels, scores);
    expect(choice?.threshold).toBeCloseTo(0.225, 12);
    expect(choice?.balancedAccuracy).toBe(1);
  });

  it('breaks an equal-distance tie toward the lower threshold', () => {
    // neg 0.3, pos 0.45, neg 0.55, pos 0.7 (P = N = 2)
    // t = 0.375: tp 2, tn 1 → 0.75; t = 0.5: tp 1, tn 1 → 0.5;
    // t = 0.625: tp 1, tn 2 → 0.75; both best are 0.125 from 0.5.
    const choice = chooseThreshold([0, 1, 0, 1], [0.3, 0.45, 0.55, 0.7]);
    expect(choice?.threshold).toBeCloseTo(0.375, 12);
    expect(choice?.balancedAccuracy).toBe(0.75);
  });

  it('breaks ties toward a configured center', () => {
    const labels: Label[] = [0, 0, 0, 1, 0, 1, 1, 1];
    const scores = [0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8];
    const choice = chooseThreshold(labels, scores, { center: 0.3 });
    expect(choice?.threshold).toBeCloseTo(0.325, 12);
  });

  it('is null when a class is empty', () => {
    expect(chooseThreshold([1, 1], [0.2, 0.8])).toBeNull();
    expect(chooseThreshold([], [])).toBeNull();
  });
});
