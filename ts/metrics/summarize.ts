import { expectedCalibrationError } from './calibration.ts';
import {
  accuracy,
  balancedAccuracy,
  confusionMatrix,
  f1,
  precision,
  predict,
  recall,
  specificity,
} from './confusion.ts';
import { sigmoid } from './logistic.ts';
import { rocAuc } from './roc.ts';
import { binaryNll } from './temperature.ts';
import type { Confusion, Label, MaybeLabel } from './types.ts';

/** How logits become decisions, as in the model card. */
export interface SummaryOptions {
  /** Probability threshold in [0, 1]; positive when p >= threshold. */
  threshold: number;
  /** Temperature T > 0; p = sigmoid(logit / T). */
  temperature: number;
  /** Bins for the calibration error (default 10). */
  bins?: number;
}

/**
 * One task's metrics on one split. Keys are snake_case because this object
 * goes as it is into model cards and reports. Ratios are in [0, 1] and null
 * where undefined (see each function); nothing is ever NaN.
 */
export interface Summary {
  /** Labelled samples used. */
  n: number;
  /** Samples skipped because their label is null. */
  unlabelled: number;
  positives: number;
  negatives: number;
  accuracy: number | null;
  balanced_accuracy: number | null;
  precision: number | null;
  recall: number | null;
  specificity: number | null;
  f1: number | null;
  /** ROC AUC from the logits; null when a class is empty. */
  auc: number | null;
  /** Mean NLL (nats) at the given temperature. */
  nll: number | null;
  /** Expected calibration error of the positive class. */
  ece: number | null;
  confusion: Confusion;
  threshold: number;
  temperature: number;
}

/** Keeps the samples whose label is not null. */
function labelled(
  labels: readonly MaybeLabel[],
  logits: readonly number[],
): { y: Label[]; z: number[] } {
  if (labels.length !== logits.length) {
    throw new RangeError(
      `Expected ${labels.length} logits (one per label) ` +
        `but received ${logits.length}`,
    );
  }
  const y: Label[] = [];
  const z: number[] = [];
  labels.forEach((label, i) => {
    if (label === null) return;
    y.push(label);
    z.push(logits[i]);
  });
  return { y, z };
}

/**
 * Every metric of one task from raw logits, skipping null labels. With no
 * labelled sample it returns n = 0 and nulls, without throwing.
 */
export function summarize(
  labels: readonly MaybeLabel[],
  logits: readonly number[],
  { threshold, temperature, bins = 10 }: SummaryOptions,
): Summary {
  const { y, z } = labelled(labels, logits);
  const p = z.map((v) => sigmoid(v / temperature));
  const cm = confusionMatrix(y, predict(p, threshold));
  return {
    n: y.length,
    unlabelled: labels.length - y.length,
    positives: cm.tp + cm.fn,
    negatives: cm.tn + cm.fp,
    accuracy: accuracy(cm),
    balanced_accuracy: balancedAccuracy(cm),
    precision: precision(cm),
    recall: recall(cm),
    specificity: specificity(cm),
    f1: f1(cm),
    auc: rocAuc(y, z),
    nll: binaryNll(y, z, temperature),
    ece: expectedCalibrationError(y, p, bins),
    confusion: cm,
    threshold,
    temperature,
  };
}
