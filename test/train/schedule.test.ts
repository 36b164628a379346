import { describe, expect, it } from 'vitest';
import { learningRate } from '../../ts/train/schedule.ts';

describe('learningRate', () => {
  it('warms up linearly, peaks, then decays by cosine to the floor', () => {
    expect(learningRate(0, 100, 1, 0, 10)).toBeCloseTo(0.1);
    expect(learningRate(9, 100, 1, 0, 10)).toBeCloseTo(1);
    expect(learningRate(10, 100, 1, 0, 10)).toBeCloseTo(1);
    // Half way through the decay: (1 + cos(pi/2)) / 2 = 0.5.
    expect(learningRate(55, 100, 1, 0, 10)).toBeCloseTo(0.5);
    expect(learningRate(100, 100, 1, 0.01, 10)).toBeCloseTo(0.01);
  });
});
