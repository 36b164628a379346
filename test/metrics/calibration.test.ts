import { describe, expect, it } from 'vitest';
import {
  expectedCalibrationError,
  reliabilityBins,
  type Label,
} from '../../ts/metrics/index.ts';

describe('reliability bins and expected calibration error', () => {
  // bin 0 [0, .1): p .05 y 0 → |.05 − 0|   = .05  (1 sample)
  // bin 1 [.1, .2): p .15 y 1 → |.15 − 1|  = .85  (1 sample)
  // bin 8 [.8, .9): p .85 y 1 → |.85 − 1|  = .15  (1 sample)
  // bin 9 [.9, 1]: p .95, .9, y 1, 0 → |.925 − .5| = .425 (2 samples)
  // ECE = (.05 + .85 + .15 + 2 · .425) / 5 = 1.9 / 5 = .38
  const labels: Label[] = [0, 1, 1, 1, 0];
  const probabilities = [0.05, 0.15, 0.95, 0.85, 0.9];

  it('puts each probability in its equal-width bin', () => {
    const bins = reliabilityBins(labels, probabilities);
    expect(bins).toHaveLength(10);
    expect(bins.map((b) => b.count)).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 1, 2]);
    expect(bins[9].meanProbability).toBeCloseTo(0.925, 12);
    expect(bins[9].fractionPositive).toBe(0.5);
    expect(bins[2]).toEqual({
      lo: 0.2,
      hi: 0.3,
      count: 0,
      meanProbability: null,
      fractionPositive: null,
    });
  });

  it('computes the hand-worked ECE', () => {
    expect(expectedCalibrationError(labels, probabilities)).toBeCloseTo(
      0.38,
      12,
    );
  });

  it('puts a probability of exactly 1 in the last bin', () => {
    expect(reliabilityBins([1], [1], 4).map((b) => b.count)).toEqual([
      0, 0, 0, 1,
    ]);
  });

  it('is 0 for perfectly calibrated bins and null with no samples', () => {
    // two samples at 0.5 in one bin, one positive: |0.5 − 0.5| = 0
    expect(expectedCalibrationError([1, 0], [0.5, 0.5])).toBe(0);
    expect(expectedCalibrationError([], [])).toBeNull();
  });

  it('rejects values outside [0, 1] and a bad bin count', () => {
    expect(() => reliabilityBins([1], [1.2])).toThrow(RangeError);
    expect(() => reliabilityBins([1], [0.5], 0)).toThrow(RangeError);
  });
});
