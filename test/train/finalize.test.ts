import { describe, expect, it } from 'vitest';
import { groupThreshold } from '../../ts/train/finalize.ts';

describe('groupThreshold', () => {
  it('lets each data set count equally, not by its size', () => {
    // Set A (4 images) separates at 0.7; set B (8 images) at 0.3.
    const y = [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1] as const;
    const p = [0.6, 0.65, 0.75, 0.8, 0.1, 0.1, 0.1, 0.1, 0.2, 0.25, 0.35, 0.4];
    const g = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b'];
    // No threshold separates both sets. In (0.25, 0.35] set B is perfect
    // (BA 1) and set A calls everything positive (BA 0.5): mean 0.75. In
    // (0.65, 0.75] A is perfect and B calls everything negative: also 0.75.
    // Ties go to the threshold nearest 0.5: 0.35 (0.15 away) beats 0.655.
    expect(groupThreshold([...y], p, g)).toBeCloseTo(0.35, 3);
    // With A alone, the threshold must separate it: in (0.65, 0.75].
    const t = groupThreshold([...y.slice(0, 4)], p.slice(0, 4), g.slice(0, 4));
    expect(t).toBeGreaterThan(0.65);
    expect(t).toBeLessThanOrEqual(0.75);
  });

  it('stays at 0.5 unless another threshold gains at least minGain', () => {
    // 20 images: at 0.5 one positive (p 0.45) is missed, BA 0.95; a
    // threshold in (0.4, 0.45] gets all 20 right, BA 1: a gain of 0.05.
    const y = [...Array(10).fill(0), ...Array(10).fill(1)] as (0 | 1)[];
    const p = [
      ...Array.from({ length: 10 }, (_, i) => 0.05 + i * 0.03),
      0.45,
      ...Array.from({ length: 9 }, (_, i) => 0.6 + i * 0.04),
    ];
    const g = Array(20).fill('a');
    const free = groupThreshold(y, p, g);
    expect(free).toBeGreaterThan(0.32);
    expect(free).toBeLessThanOrEqual(0.45);
    expect(groupThreshold(y, p, g, 0.05)).toBe(free);
    expect(groupThreshold(y, p, g, 0.051)).toBe(0.5);
  });
});
