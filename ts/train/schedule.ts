/**
 * Learning rate at a step: linear warm-up from 0 to `peak` over `warmup`
 * steps, then a cosine decay to `floor` at `total`.
 */
export function learningRate(
  step: number,
  total: number,
  peak: number,
  floor: number,
  warmup: number,
): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const t = Math.min(1, (step - warmup) / span);
  return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * t));
}
