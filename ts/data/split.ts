import { createHash } from 'node:crypto';

export type Split = 'train' | 'val' | 'test';

export interface SplitFractions {
  val: number;
  test: number;
}

/**
 * Assigns a split from a group key (a person's identity, or the file name when
 * identities are unknown). Every image of one group lands in the same split,
 * so the split is person-disjoint whenever the key is the person. The choice
 * depends only on the seed and the key, never on order.
 */
export function splitFor(
  groupKey: string,
  seed: number,
  fractions: SplitFractions,
): Split {
  const u = unitHash(`${seed}:${groupKey}`);
  if (u < fractions.val) return 'val';
  if (u < fractions.val + fractions.test) return 'test';
  return 'train';
}

/** A uniform number in [0, 1) derived from a string. */
export function unitHash(text: string): number {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}
