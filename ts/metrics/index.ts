/**
 * Binary classification metrics for training, evaluation and reports. Pure
 * functions over plain arrays: no I/O, no logging, deterministic. Label 1 is
 * the positive class; a metric that is undefined on the data is null, never
 * NaN, and caller mistakes (length mismatch, NaN input) throw RangeError.
 */
export type { Confusion, Label, MaybeLabel } from './types.ts';
export {
  accuracy,
  balancedAccuracy,
  confusionMatrix,
  f1,
  precision,
  predict,
  recall,
  specificity,
} from './confusion.ts';
export {
  averageRanks,
  rocAuc,
  rocCurve,
  trapezoidAuc,
  type RocPoint,
} from './roc.ts';
export { chooseThreshold, type ThresholdChoice } from './threshold.ts';
export {
  binaryNll,
  fitTemperature,
  type TemperatureFit,
  type TemperatureOptions,
} from './temperature.ts';
export {
  expectedCalibrationError,
  reliabilityBins,
  type ReliabilityBin,
} from './calibration.ts';
export { subgroupAccuracy, type GroupAccuracy } from './subgroups.ts';
export { summarize, type Summary, type SummaryOptions } from './summarize.ts';
export { addCosine, emptyCosine, type CosineSummary } from './cosine.ts';
export { sigmoid, softplus } from './logistic.ts';
