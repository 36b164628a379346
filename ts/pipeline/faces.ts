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
}

/**
 * Finds faces on a downscaled copy of `img` and returns them largest first,
 * each with the square the model will see. An empty list means no face.
 */
export async function findFaces(
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
