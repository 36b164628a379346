/** A binary ground-truth label: 1 is the positive class (male, smiling). */
export type Label = 0 | 1;

/** A label that may be missing (the source has no annotation for the task). */
export type MaybeLabel = Label | null;

/** Counts of a binary confusion matrix. */
export interface Confusion {
  /** Positives predicted positive. */
  tp: number;
  /** Negatives predicted positive. */
  fp: number;
  /** Negatives predicted negative. */
  tn: number;
  /** Positives predicted negative. */
  fn: number;
}
