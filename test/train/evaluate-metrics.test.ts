import { describe, expect, it } from 'vitest';
import { scoreTask, type Outcome } from '../../ts/cli/evaluate-metrics.ts';

const face = (
  male: 0 | 1 | null,
  pMale: number,
  smiling: 0 | 1 | null = null,
): Outcome => ({
  male,
  smiling,
  found: true,
  ms: 1,
  pMale,
  saidMale: pMale >= 0.5,
  pSmiling: 0.5,
  saidSmiling: false,
});

describe('scoreTask', () => {
  it('scores the labelled images and counts a missed face as wrong', () => {
    const outcomes: Outcome[] = [
      face(1, 0.9),
      face(1, 0.4), // wrong
      face(0, 0.2),
      face(0, 0.3),
      { male: 1, smiling: null, found: false, ms: 1 }, // no face: wrong
      face(null, 0.9), // no gender label: skipped
    ];
    const s = scoreTask(outcomes, 'gender');
    // 5 labelled; right: 0.9/1, 0.2/0, 0.3/0 → 3 of 5.
    expect(s?.n).toBe(5);
    expect(s?.accuracy).toBeCloseTo(3 / 5);
    // Recall of males 1/3, of females 2/2 → (1/3 + 1) / 2.
    expect(s?.balanced_accuracy).toBeCloseTo(2 / 3);
    // Positives scores [0.9, 0.4, 0.5], negatives [0.2, 0.3]: every pair is
    // ordered right → AUC 1.
    expect(s?.auc).toBe(1);
  });

  it('leaves out a task that has no label in the file', () => {
    expect(scoreTask([face(1, 0.9)], 'smile')).toBeNull();
  });
});
