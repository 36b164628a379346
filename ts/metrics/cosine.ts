/**
 * Running summary of the cosine similarity between the two tasks' gradients
 * (the sidecar's `grad_cosine`), kept as plain data so it can be logged and
 * saved with a checkpoint.
 */
export interface CosineSummary {
  /** Measured steps. */
  count: number;
  /** Mean cosine in [-1, 1]; null before the first measurement. */
  mean: number | null;
  /** Steps whose cosine was below 0 (the tasks pulled apart). */
  conflicting: number;
}

/** The summary before any step. */
export function emptyCosine(): CosineSummary {
  return { count: 0, mean: null, conflicting: 0 };
}

/**
 * Adds one step's cosine and returns a new summary (the input is not
 * changed). `null` (not measured, or a task had no label in the batch)
 * leaves it as it was. Values a float rounding outside [-1, 1] are clamped;
 * anything further out throws a RangeError.
 */
export function addCosine(
  summary: CosineSummary,
  value: number | null,
): CosineSummary {
  if (value === null) return summary;
  if (!(Math.abs(value) <= 1 + 1e-6)) {
    throw new RangeError(`Expected a cosine in [-1, 1] but received ${value}`);
  }
  const x = Math.min(1, Math.max(-1, value));
  const count = summary.count + 1;
  const prev = summary.mean ?? 0;
  return {
    count,
    mean: prev + (x - prev) / count,
    conflicting: summary.conflicting + (x < 0 ? 1 : 0),
  };
}
