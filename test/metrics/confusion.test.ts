import { describe, expect, it } from 'vitest';
import {
  accuracy,
  balancedAccuracy,
  confusionMatrix,
  f1,
  precision,
  predict,
  recall,
  specificity,
  type Label,
} from '../../ts/metrics/index.ts';

describe('confusion matrix and the ratios built on it', () => {
  // labels:    1 1 1 0 0 0 0 1
  // predicted: 1 0 1 0 1 0 0 1  → tp 3, fn 1, fp 1, tn 3
  const labels: Label[] = [1, 1, 1, 0, 0, 0, 0, 1];
  const predicted: Label[] = [1, 0, 1, 0, 1, 0, 0, 1];
  const cm = confusionMatrix(labels, predicted);

  it('counts each cell', () => {
    expect(cm).toEqual({ tp: 3, fp: 1, tn: 3, fn: 1 });
  });

  it('computes the hand-worked ratios', () => {
    expect(accuracy(cm)).toBe(6 / 8); // (3 + 3) / 8
    expect(precision(cm)).toBe(3 / 4); // 3 / (3 + 1)
    expect(recall(cm)).toBe(3 / 4); // 3 / (3 + 1)
    expect(specificity(cm)).toBe(3 / 4); // 3 / (3 + 1)
    expect(f1(cm)).toBe(6 / 8); // 2·3 / (2·3 + 1 + 1)
    expect(balancedAccuracy(cm)).toBe(3 / 4); // (3/4 + 3/4) / 2
  });

  it('weights classes equally in balanced accuracy when they are unequal', () => {
    // 2 positives (1 found), 6 negatives (all rejected): (1/2 + 6/6) / 2
    const unequal = { tp: 1, fn: 1, tn: 6, fp: 0 };
    expect(balancedAccuracy(unequal)).toBe(0.75);
    expect(accuracy(unequal)).toBe(7 / 8);
  });

  it('predicts positive at exactly the threshold', () => {
    expect(predict([0.2, 0.5, 0.7], 0.5)).toEqual([0, 1, 1]);
  });

  it('returns null, never NaN, for ratios undefined on the data', () => {
    const empty = confusionMatrix([], []);
    expect(accuracy(empty)).toBeNull();
    expect(balancedAccuracy(empty)).toBeNull();
    expect(f1(empty)).toBeNull();

    // Only negatives, all predicted negative: no positive anywhere.
    const negativesOnly = confusionMatrix([0, 0], [0, 0]);
    expect(accuracy(negativesOnly)).toBe(1);
    expect(recall(negativesOnly)).toBeNull();
    expect(precision(negativesOnly)).toBeNull();
    expect(f1(negativesOnly)).toBeNull();
    expect(balancedAccuracy(negativesOnly)).toBe(1); // specificity alone
  });

  it('gives f1 = 0 when positives exist but none is predicted', () => {
    const missed = confusionMatrix([1, 0], [0, 0]);
    expect(precision(missed)).toBeNull();
    expect(f1(missed)).toBe(0);
  });

  it('rejects mismatched lengths and labels other than 0 and 1', () => {
    expect(() => confusionMatrix([1, 0], [1])).toThrow(RangeError);
    expect(() => confusionMatrix([2 as Label], [1])).toThrow(RangeError);
  });
});
