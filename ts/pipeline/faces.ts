import { cropSquare, downscale } from '../images/crop.ts';
import type { DecodedImage } from '../images/decode.ts';
import {
  centreSquare,
  faceSquare,
  scaleBox,
  type Box,
  type Square,
} from '../images/geometry.ts';

/** What face finding needs from the sidecar. */
export interface FaceDetector {
  detect(
    image: { data: Uint8Array; width: number; height: number },
    opts?: { min_size_frac?: number; pad_retry?: boolean },
  ): Promise<{
    boxes: { x: number; y: number; w: number; h: number; score: number }[];
    padded: boolean;
  }>;
}

export interface FaceOptions {
  /** Longest side of the copy the detector sees. */
  maxSide: number;
  /** Smallest face, as a fraction of the copy's shorter side. */
  minFaceFraction: number;
  /** Detections scoring below this are dropped. */
  minScore: number;
  /** Margin added around each box, as a fraction of its longer side. */
  margin: number;
}

export interface FoundFace {
  /** The detector's box, in pixels of the decoded image. */
  box: Box;
  score: number;
  /** The square cropped for the model, in pixels of the decoded image. */
  square: Square;
  /**
   * True when no face was detected and the whole (small) image is taken as
   * a face crop: see `findFaces`' `wholeImageMaxSide`.
   */
  wholeImage?: boolean;
}

/** Below this standard deviation of grey levels an image is flat: no face. */
const FLAT_STDDEV = 6;

/**
 * Finds faces on a downscaled copy of `img` and returns them largest first,
 * each with the square the model will see. An empty list means no face.
 *
 * With `wholeImageMaxSide` > 0, an image no larger than that on either side
 * in which the detector finds nothing (and that is not flat) is taken as a
 * face crop: one face, the centred square, score 0, `wholeImage: true`. The
 * data sets' pre-cropped faces are framed so tightly that the detector
 * misses some of them; training uses the same centred square for those.
 */
export async function findFaces(
  img: DecodedImage,
  detector: FaceDetector,
  opts: FaceOptions,
  wholeImageMaxSide = 0,
): Promise<FoundFace[]> {
  const faces = await detectFaces(img, detector, opts);
  const small =
    Math.max(img.originalWidth, img.originalHeight) <= wholeImageMaxSide;
  if (faces.length > 0 || !small || isFlat(img)) return faces;
  const square = centreSquare(img.width, img.height);
  const box = { x: square.x, y: square.y, w: square.size, h: square.size };
  return [{ box, score: 0, square, wholeImage: true }];
}

/** True when the grey levels barely vary (a blank or single-colour image). */
function isFlat(img: DecodedImage): boolean {
  const { data } = img;
  const n = data.length / 3;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < data.length; i += 3) {
    const grey = (data[i] * 299 + data[i + 1] * 587 + data[i + 2] * 114) / 1000;
    sum += grey;
    sumSq += grey * grey;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean)) < FLAT_STDDEV;
}

async function detectFaces(
  img: DecodedImage,
  detector: FaceDetector,
  opts: FaceOptions,
): Promise<FoundFace[]> {
  const { image: small, scale } = await downscale(img, opts.maxSide);
  const found = await detector.detect(
    { data: small.data, width: small.width, height: small.height },
    { min_size_frac: opts.minFaceFraction, pad_retry: true },
  );
  return found.boxes
    .filter((b) => b.score >= opts.minScore)
    .map((b) => {
      const box = scaleBox(b, 1 / scale);
      return { box, score: b.score, square: faceSquare(box, opts.margin) };
    })
    .sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h);
}

/**
 * The face the training data uses for an image: the largest detected face, or
 * the centred square when the detector finds none (the data sets hold
 * pre-cropped faces, so the centre is a good stand-in).
 */
export async function trainingSquare(
  img: DecodedImage,
  detector: FaceDetector,
  opts: FaceOptions,
): Promise<{ square: Square; detected: boolean }> {
  const faces = await findFaces(img, detector, opts);
  if (faces.length > 0) return { square: faces[0].square, detected: true };
  return { square: centreSquare(img.width, img.height), detected: false };
}

/**
 * Crops every face to `size × size` RGB, in order.
 *
 * @returns `faces.length * size * size * 3` bytes.
 */
export async function cropFaces(
  img: DecodedImage,
  faces: { square: Square }[],
  size: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(faces.length * size * size * 3);
  const crops = await Promise.all(
    faces.map((f) => cropSquare(img, f.square, size)),
  );
  crops.forEach((crop, i) => out.set(crop, i * size * size * 3));
  return out;
}
