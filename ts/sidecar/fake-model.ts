import { TASKS, type ModelCard, type Task } from '../protocol/index.ts';
import type { ImageBatch } from './types.ts';

/** A model card like the real one, for a fake model of `inputSize`. */
export function fakeCard(inputSize = 96): ModelCard {
  const both = <T>(v: T): Record<Task, T> => ({ gender: v, smile: v });
  return {
    name: 'fake',
    version: '0',
    protocol: 1,
    tasks: [...TASKS],
    labels: { gender: ['female', 'male'], smile: ['not_smiling', 'smiling'] },
    input_size: inputSize,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    arch: { backbone: 'fake', output_stride: 16, adapter_channels: 8 },
    crop: { detector: 'haar', margin: 0.25 },
    thresholds: both(0.5),
    temperature: both(1),
    epoch: null,
    metric: null,
    metrics: {},
    data: {},
    train_config: {},
    torch_version: 'none',
    sha256: null,
    created: '1970-01-01T00:00:00.000Z',
  };
}

/**
 * Deterministic logits from pixel bytes: gender from overall brightness
 * (bright → positive), smile from red minus blue. Same bytes, same logits.
 */
export function fakeLogits(images: ImageBatch): Record<Task, number[]> {
  const { data, n, size } = images;
  const stride = size * size * 3;
  const gender: number[] = [];
  const smile: number[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let redMinusBlue = 0;
    for (let p = i * stride; p < (i + 1) * stride; p += 3) {
      sum += data[p] + data[p + 1] + data[p + 2];
      redMinusBlue += data[p] - data[p + 2];
    }
    const pixels = size * size;
    gender.push((sum / (3 * pixels) - 127.5) / 25);
    smile.push(redMinusBlue / pixels / 25);
  }
  return { gender, smile };
}

/** `float32 [n, size, size]`: a centred gaussian blob peaking at 1. */
export function gaussianCams(n: number, size: number): Float32Array {
  const cams = new Float32Array(n * size * size);
  const c = (size - 1) / 2;
  const twoSigma2 = 2 * (size / 6) ** 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / twoSigma2);
      for (let i = 0; i < n; i++) cams[(i * size + y) * size + x] = v;
    }
  }
  return cams;
}

/** Mean masked binary cross-entropy per task; null when nothing is labelled. */
export function fakeLosses(
  logits: Record<Task, number[]>,
  labels: Float32Array,
): { losses: Record<Task, number | null>; counts: Record<Task, number> } {
  const losses = { gender: null, smile: null } as Record<Task, number | null>;
  const counts = { gender: 0, smile: 0 };
  TASKS.forEach((task, col) => {
    let total = 0;
    logits[task].forEach((z, i) => {
      const y = labels[i * TASKS.length + col];
      if (Number.isNaN(y)) return;
      counts[task]++;
      total += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    });
    if (counts[task] > 0) losses[task] = total / counts[task];
  });
  return { losses, counts };
}
