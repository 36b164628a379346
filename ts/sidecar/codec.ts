import { AppError } from '../errors.ts';
import {
  asFloat32,
  TASKS,
  uint8Tensor,
  float32Tensor,
  type PredictResultHeader,
  type Tensor,
} from '../protocol/index.ts';
import type { ImageBatch, PredictResult, RgbImage } from './types.ts';

/** `images`: `uint8 [n, size, size, 3]`. */
export function imagesTensor(images: ImageBatch): Tensor {
  const { data, n, size } = images;
  return wrap(() => uint8Tensor('images', data, [n, size, size, 3]));
}

/** `image`: `uint8 [height, width, 3]`. */
export function imageTensor(image: RgbImage): Tensor {
  const { data, width, height } = image;
  return wrap(() => uint8Tensor('image', data, [height, width, 3]));
}

/** `labels`: `float32 [n, 2]`, NaN for unknown. */
export function labelsTensor(labels: Float32Array, n: number): Tensor {
  return wrap(() => float32Tensor('labels', labels, [n, TASKS.length]));
}

/** Collects the `cam.<task>` tensors of a predict reply. */
export function predictResult(
  result: PredictResultHeader,
  tensors: Tensor[],
): PredictResult {
  const cams: PredictResult['cams'] = {};
  for (const task of TASKS) {
    const cam = tensors.find((t) => t.name === `cam.${task}`);
    if (cam !== undefined) cams[task] = asFloat32(cam);
  }
  return { logits: result.logits, explained: result.explained ?? {}, cams };
}

/** A shape mismatch is the caller's bug: report it before sending. */
function wrap(make: () => Tensor): Tensor {
  try {
    return make();
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    throw new AppError('INTERNAL', message, { cause: err });
  }
}
