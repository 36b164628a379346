import type { ModelCard, Task } from '../protocol/index.ts';
import type { LabelResult } from './analysis.ts';

/**
 * The model card's calibration rule (docs/wire-protocol.md):
 * p = sigmoid(logit / temperature); the positive class when p >= threshold;
 * the probability reported is that of the label shown (p or 1 - p).
 */
export function calibrate(
  logit: number,
  task: Task,
  card: Pick<ModelCard, 'labels' | 'thresholds' | 'temperature'>,
): LabelResult {
  const temperature = card.temperature[task] > 0 ? card.temperature[task] : 1;
  const p = 1 / (1 + Math.exp(-logit / temperature));
  const [negative, positive] = card.labels[task];
  return p >= card.thresholds[task]
    ? { label: positive, probability: p }
    : { label: negative, probability: 1 - p };
}
