import { describe, expect, it } from 'vitest';
import { splitFor, unitHash } from '../../ts/data/split.ts';
import { Rng, derive } from '../../ts/data/random.ts';

describe('splitFor', () => {
  it('puts every image of one person in the same split', () => {
    const people = Array.from({ length: 300 }, (_, i) => `person-${i}`);
    const seen = new Map<string, string>();
    for (let photo = 0; photo < 5; photo++) {
      for (const p of people) {
        const split = splitFor(p, 7, { val: 0.1, test: 0.1 });
        expect(seen.get(p) ?? split).toBe(split);
        seen.set(p, split);
      }
    }
  });

  it('draws roughly the requested fractions', () => {
    const counts = { train: 0, val: 0, test: 0 };
    for (let i = 0; i < 10_000; i++) {
      counts[splitFor(`f${i}`, 1, { val: 0.1, test: 0.2 })]++;
    }
    expect(counts.val / 10_000).toBeGreaterThan(0.08);
    expect(counts.val / 10_000).toBeLessThan(0.12);
    expect(counts.test / 10_000).toBeGreaterThan(0.18);
    expect(counts.test / 10_000).toBeLessThan(0.22);
  });

  it('changes with the seed', () => {
    const a = Array.from({ length: 200 }, (_, i) =>
      splitFor(`x${i}`, 1, { val: 0.5, test: 0 }),
    );
    const b = Array.from({ length: 200 }, (_, i) =>
      splitFor(`x${i}`, 2, { val: 0.5, test: 0 }),
    );
    expect(a).not.toEqual(b);
  });

  it('hashes to [0, 1)', () => {
    for (let i = 0; i < 1000; i++) {
      const u = unitHash(String(i));
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });
});

describe('Rng', () => {
  it('repeats its sequence for a seed', () => {
    const a = new Rng(derive(3, 4));
    const b = new Rng(derive(3, 4));
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(derive(3, 5)).next()).not.toBe(xs[0]);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Rng(9).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
  });
});
