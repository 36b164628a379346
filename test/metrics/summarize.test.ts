import { describe, expect, it } from 'vitest';
import { summarize, type MaybeLabel } from '../../ts/metrics/index.ts';

describe('summarize', () => {
  // labelled: y 1 0 1 0 1, z 2 −1 −0.5 0.5 3 (the null label is skipped)
  const labels: MaybeLabel[] = [1, 0, null, 1, 0, 1];
  const logits = [2, -1, 5, -0.5, 0.5, 3];

  it('computes every metric from logits at T = 1, threshold 0.5', () => {
    // p >= 0.5 ⇔ z >= 0 → predictions 1 0 0 1 1: tp 2, fn 1, fp 1, tn 1
    const s = summarize(labels, logits, { threshold: 0.5, temperature: 1 });
    expect(s.n).toBe(5);
    expect(s.unlabelled).toBe(1);
    expect(s.confusion).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1 });
    expect(s.accuracy).toBe(3 / 5);
    expect(s.balanced_accuracy).toBeCloseTo((2 / 3 + 1 / 2) / 2, 15);
    expect(s.precision).toBe(2 / 3);
    expect(s.recall).toBe(2 / 3);
    expect(s.f1).toBe(4 / 6); // 2·2 / (2·2 + 1 + 1)
    // pairs (pos, neg): (2,−1) (2,.5) (−.5,−1) (3,−1) (3,.5) win; (−.5,.5) loses
    expect(s.auc).toBe(5 / 6);
    expect(s.nll).toBeGreaterThan(0);
    expect(s.ece).toBeGreaterThan(0);
  });

  it('applies temperature and threshold to the probabilities', () => {
    // p = σ(z / 2): .731 .378 .438 .562 .818; >= 0.6 → 1 0 0 0 1
    const s = summarize(labels, logits, { threshold: 0.6, temperature: 2 });
    expect(s.confusion).toEqual({ tp: 2, fp: 0, tn: 2, fn: 1 });
    expect(s.accuracy).toBe(4 / 5);
    expect(s.auc).toBe(5 / 6); // a ranking metric: unchanged
  });

  it('keeps accuracy and nulls AUC when one class is empty', () => {
    const s = summarize([1, 1, null], [1, -1, 0], {
      threshold: 0.5,
      temperature: 1,
    });
    expect(s.auc).toBeNull();
    expect(s.accuracy).toBe(0.5);
    expect(s.balanced_accuracy).toBe(0.5);
    expect(s.specificity).toBeNull();
  });

  it('returns n = 0 and nulls, never NaN, when nothing is labelled', () => {
    const s = summarize([null, null], [1, 2], {
      threshold: 0.5,
      temperature: 1,
    });
    expect(s.n).toBe(0);
    for (const key of ['accuracy', 'auc', 'f1', 'nll', 'ece'] as const) {
      expect(s[key]).toBeNull();
    }
    expect(JSON.stringify(s)).not.toContain('NaN');
  });

  it('rejects a logit count that differs from the label count', () => {
    expect(() =>
      summarize([1, 0], [1], { threshold: 0.5, temperature: 1 }),
    ).toThrow(RangeError);
  });
});
