import { describe, expect, it } from 'vitest';
import { subgroupAccuracy } from '../../ts/metrics/index.ts';

describe('per-subgroup accuracy', () => {
  it('splits accuracy by group and skips null labels and groups', () => {
    const result = subgroupAccuracy(
      [1, 0, 1, null, 0],
      [1, 1, 1, 0, 0],
      ['utk', 'celeba', 'utk', 'utk', null],
    );
    expect(result).toEqual({
      celeba: { n: 1, correct: 0, accuracy: 0 },
      utk: { n: 2, correct: 2, accuracy: 1 },
    });
    expect(Object.keys(result)).toEqual(['celeba', 'utk']);
  });

  it('returns no groups when nothing is labelled', () => {
    expect(subgroupAccuracy([null], [1], ['a'])).toEqual({});
  });

  it('rejects arrays of different lengths', () => {
    expect(() => subgroupAccuracy([1], [1, 0], ['a'])).toThrow(RangeError);
  });
});
