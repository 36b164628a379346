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
});
