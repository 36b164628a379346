import type { Label, MaybeLabel } from './types.ts';

/** Accuracy of one subgroup. */
export interface GroupAccuracy {
  /** Labelled samples in the group. */
  n: number;
  /** Of those, how many were predicted correctly. */
  correct: number;
  /** correct / n in [0, 1] (groups with n = 0 are not listed). */
  accuracy: number;
}

/**
 * Accuracy per subgroup (e.g. per data source, or smile accuracy split by
 * gender), keyed by group name in sorted order. Samples whose label or group
 * is null are skipped; groups with no labelled sample are absent.
 */
export function subgroupAccuracy(
  labels: readonly MaybeLabel[],
  predicted: readonly Label[],
  groups: readonly (string | null)[],
): Record<string, GroupAccuracy> {
  if (predicted.length !== labels.length || groups.length !== labels.length) {
    throw new RangeError(
      `Expected ${labels.length} predictions and groups but received ` +
        `${predicted.length} and ${groups.length}`,
    );
  }
  const tally = new Map<string, { n: number; correct: number }>();
  labels.forEach((y, i) => {
    const g = groups[i];
    if (y === null || g === null) return;
    const t = tally.get(g) ?? { n: 0, correct: 0 };
    t.n++;
    if (predicted[i] === y) t.correct++;
    tally.set(g, t);
  });
  const keys = [...tally.keys()].sort();
  return Object.fromEntries(
    keys.map((k) => {
      const { n, correct } = tally.get(k) as { n: number; correct: number };
      return [k, { n, correct, accuracy: correct / n }];
    }),
  );
}
