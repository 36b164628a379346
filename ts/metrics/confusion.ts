import type { Confusion, Label } from './types.ts';
import { checkPaired, ratio } from './validate.ts';

/**
 * Hard predictions from scores: 1 where `score >= threshold`, else 0.
 * The `>=` matches how serving applies the model card's threshold.
 */
export function predict(scores: readonly number[], threshold: number): Label[] {
  return scores.map((s) => (s >= threshold ? 1 : 0));
}

/** Counts true/false positives/negatives. Throws on a length mismatch. */
export function confusionMatrix(
  labels: readonly Label[],
  predicted: readonly Label[],
): Confusion {
  checkPaired(labels, predicted, 'predictions');
  const cm: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      if (predicted[i] === 1) cm.tp++;
      else cm.fn++;
    } else if (predicted[i] === 1) cm.fp++;
    else cm.tn++;
  }
  return cm;
}

/** Fraction correct in [0, 1]; null when there are no samples. */
export function accuracy(cm: Confusion): number | null {
  return ratio(cm.tp + cm.tn, cm.tp + cm.fp + cm.tn + cm.fn);
}

/** tp / (tp + fp) in [0, 1]; null when nothing was predicted positive. */
export function precision(cm: Confusion): number | null {
  return ratio(cm.tp, cm.tp + cm.fp);
}

/** True positive rate tp / (tp + fn); null when there are no positives. */
export function recall(cm: Confusion): number | null {
  return ratio(cm.tp, cm.tp + cm.fn);
}

/** True negative rate tn / (tn + fp); null when there are no negatives. */
export function specificity(cm: Confusion): number | null {
  return ratio(cm.tn, cm.tn + cm.fp);
}

/**
 * Harmonic mean of precision and recall, computed as 2tp / (2tp + fp + fn)
 * so that it is 0 (not undefined) when precision is undefined but positives
 * exist. Null only when there are no positives and none was predicted.
 */
export function f1(cm: Confusion): number | null {
  return ratio(2 * cm.tp, 2 * cm.tp + cm.fp + cm.fn);
}

/**
 * Mean of the per-class recalls, in [0, 1], over the classes present: with
 * one class empty it is that class's recall (as scikit-learn computes it),
 * and null only when there are no samples at all.
 */
export function balancedAccuracy(cm: Confusion): number | null {
  const rates = [recall(cm), specificity(cm)].filter(
    (r): r is number => r !== null,
  );
  if (rates.length === 0) return null;
  return rates.reduce((a, b) => a + b, 0) / rates.length;
}
