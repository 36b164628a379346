import {
  accuracy,
  balancedAccuracy,
  confusionMatrix,
  f1,
  rocAuc,
  type Label,
} from '../metrics/index.ts';

/** What the pipeline said about one labelled image. */
export interface Outcome {
  male: Label | null;
  smiling: Label | null;
  found: boolean;
  /** The face was the whole image taken as a crop (none detected). */
  wholeImage?: boolean;
  ms: number;
  error?: string;
  /** Probability of the positive class (male / smiling). */
  pMale?: number;
  pSmiling?: number;
  /** The label shown (after the card's threshold). */
  saidMale?: boolean;
  saidSmiling?: boolean;
}

export interface TaskScore {
  n: number;
  accuracy: number | null;
  balanced_accuracy: number | null;
  f1: number | null;
  auc: number | null;
}

/**
 * Scores one task over the images labelled for it. An image with no face
 * found counts as a wrong answer, and as an uninformative 0.5 for the AUC.
 * Null when no image carries the task's label.
 */
export function scoreTask(
  outcomes: Outcome[],
  task: 'gender' | 'smile',
): TaskScore | null {
  const y: Label[] = [];
  const predicted: Label[] = [];
  const scores: number[] = [];
  for (const o of outcomes) {
    const truth = task === 'gender' ? o.male : o.smiling;
    if (truth === null) continue;
    y.push(truth);
    if (!o.found) {
      predicted.push(truth === 1 ? 0 : 1);
      scores.push(0.5);
      continue;
    }
    const said = task === 'gender' ? o.saidMale : o.saidSmiling;
    predicted.push(said ? 1 : 0);
    scores.push((task === 'gender' ? o.pMale : o.pSmiling) ?? 0.5);
  }
  if (y.length === 0) return null;
  const cm = confusionMatrix(y, predicted);
  return {
    n: y.length,
    accuracy: accuracy(cm),
    balanced_accuracy: balancedAccuracy(cm),
    f1: f1(cm),
    auc: rocAuc(y, scores),
  };
}
