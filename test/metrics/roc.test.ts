import { describe, expect, it } from 'vitest';
import {
  averageRanks,
  rocAuc,
  rocCurve,
  trapezoidAuc,
  type Label,
} from '../../ts/metrics/index.ts';

/** AUC by brute force over all positive–negative pairs, ties count 1/2. */
function pairwiseAuc(labels: Label[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((yi, i) =>
    labels.forEach((yj, j) => {
      if (yi !== 1 || yj !== 0) return;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }),
  );
  return wins / pairs;
}

describe('ROC AUC', () => {
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
  });

  it('is 0.5 when every score is tied', () => {
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('counts ties as one half in a hand-worked case', () => {
    // positives score 0.9, 0.5, 0.1; negatives score 0.9, 0.5.
    // Ascending ranks: 0.1 → 1; 0.5, 0.5 → 2.5; 0.9, 0.9 → 4.5.
    // Positive rank sum = 4.5 + 2.5 + 1 = 8; U = 8 − 3·4/2 = 2.
    // AUC = U / (3·2) = 1/3. Pairwise: (.9,.9) ½ + (.9,.5) 1 + (.5,.5) ½ = 2.
    const labels: Label[] = [1, 0, 1, 0, 1];
    const scores = [0.9, 0.9, 0.5, 0.5, 0.1];
    expect(averageRanks(scores)).toEqual([4.5, 4.5, 2.5, 2.5, 1]);
    expect(rocAuc(labels, scores)).toBeCloseTo(1 / 3, 15);
  });

  it('does not depend on the order of tied samples', () => {
    const a = rocAuc([1, 0, 1, 0], [0.3, 0.3, 0.7, 0.1]);
    const b = rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.1, 0.7]);
    // pairs: (.3,.3) ½, (.3,.1) 1, (.7,.3) 1, (.7,.1) 1 → 3.5 / 4
    expect(a).toBe(0.875);
    expect(b).toBe(0.875);
  });

  it('matches pairwise counting and the trapezoid area on tied data', () => {
    const labels: Label[] = [1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1];
    const scores = [3, 1, 2, 2, 3, 3, 1, 0, 2, 5, 1, 2];
    const expected = pairwiseAuc(labels, scores);
    expect(rocAuc(labels, scores)).toBeCloseTo(expected, 12);
    const curve = rocCurve(labels, scores);
    expect(curve).not.toBeNull();
    expect(trapezoidAuc(curve!)).toBeCloseTo(expected, 12);
  });

  it('handles infinite scores (saturated logits)', () => {
    expect(rocAuc([1, 0, 1], [Infinity, -Infinity, Infinity])).toBe(1);
  });

  it('is null, without throwing, when a class is empty', () => {
    expect(rocAuc([1, 1], [0.2, 0.9])).toBeNull();
    expect(rocAuc([0, 0], [0.2, 0.9])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
    expect(rocCurve([1, 1], [0.2, 0.9])).toBeNull();
  });

  it('rejects NaN scores', () => {
    expect(() => rocAuc([1, 0], [NaN, 0.1])).toThrow(RangeError);
  });
});

describe('ROC curve', () => {
  it('has one point per distinct score, from (0,0) to (1,1)', () => {
    // sorted desc: 0.9 (+), 0.5 (+, −), 0.1 (−); P = 2, N = 2
    const curve = rocCurve([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]);
    expect(curve).toEqual([
      { threshold: Infinity, fpr: 0, tpr: 0 },
      { threshold: 0.9, fpr: 0, tpr: 0.5 },
      { threshold: 0.5, fpr: 0.5, tpr: 1 }, // the tie moves diagonally
      { threshold: 0.1, fpr: 1, tpr: 1 },
    ]);
    // area: 0 + (0.5 · (0.5 + 1) / 2) + 0.5 · 1 = 0.375 + 0.5
    expect(trapezoidAuc(curve!)).toBe(0.875);
  });
});
