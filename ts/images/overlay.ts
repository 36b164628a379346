import sharp from 'sharp';
import type { DecodedImage } from './decode.ts';
import type { Square } from './geometry.ts';

export interface OverlayOptions {
  /** Opacity of the heat colours over the face square, 0..1. */
  alpha: number;
  /** Longest side of the rendered PNG; the image is shrunk to fit. */
  maxSide: number;
}

/**
 * Draws a Grad-CAM map over the whole image, in display orientation.
 *
 * `cam` is `camSize × camSize` values in 0..1 covering the crop the model saw.
 * Each output pixel inside `square` samples the map through the exact inverse
 * of that crop and resize (bilinear, pixel centres aligned), so the colours sit
 * where the model looked.
 *
 * @returns PNG bytes.
 */
export async function renderOverlay(
  img: DecodedImage,
  square: Square,
  cam: Float32Array,
  camSize: number,
  opts: OverlayOptions,
): Promise<Buffer> {
  const k = Math.min(1, opts.maxSide / Math.max(img.width, img.height));
  const base = await resizeRgb(img, k);
  const { width, height } = base;
  const out = Buffer.from(base.data);
  const scale = camSize / square.size;
  const x0 = Math.max(0, Math.floor(square.x * k));
  const y0 = Math.max(0, Math.floor(square.y * k));
  const x1 = Math.min(width, Math.ceil((square.x + square.size) * k));
  const y1 = Math.min(height, Math.ceil((square.y + square.size) * k));
  const keep = 1 - opts.alpha;
  for (let y = y0; y < y1; y++) {
    const v = ((y + 0.5) / k - square.y) * scale - 0.5;
    for (let x = x0; x < x1; x++) {
      const u = ((x + 0.5) / k - square.x) * scale - 0.5;
      const t = sampleBilinear(cam, camSize, u, v);
      const c = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
      const i = (y * width + x) * 3;
      out[i] = out[i] * keep + JET_LUT[c] * opts.alpha;
      out[i + 1] = out[i + 1] * keep + JET_LUT[c + 1] * opts.alpha;
      out[i + 2] = out[i + 2] * keep + JET_LUT[c + 2] * opts.alpha;
    }
  }
  // Level 1: about a third of level 4's encoding time for a slightly larger
  // file; the overlay is made for one response and not kept.
  return sharp(out, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

async function resizeRgb(
  img: DecodedImage,
  k: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  if (k >= 1) return img;
  const { data, info } = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(Math.max(1, Math.round(img.width * k)), null)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Bilinear sample of a square map, clamping at the edges. */
export function sampleBilinear(
  map: Float32Array,
  size: number,
  u: number,
  v: number,
): number {
  const cu = Math.min(size - 1, Math.max(0, u));
  const cv = Math.min(size - 1, Math.max(0, v));
  const u0 = Math.floor(cu);
  const v0 = Math.floor(cv);
  const u1 = Math.min(size - 1, u0 + 1);
  const v1 = Math.min(size - 1, v0 + 1);
  const fu = cu - u0;
  const fv = cv - v0;
  const top = map[v0 * size + u0] * (1 - fu) + map[v0 * size + u1] * fu;
  const bottom = map[v1 * size + u0] * (1 - fu) + map[v1 * size + u1] * fu;
  return top * (1 - fv) + bottom * fv;
}

/** {@link jet} at 256 levels, RGB interleaved: one lookup per pixel. */
const JET_LUT = (() => {
  const lut = new Uint8Array(256 * 3);
  const rgb: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < 256; i++) {
    jet(i / 255, rgb);
    lut.set(rgb, i * 3);
  }
  return lut;
})();

/** The "jet" colour map: 0 → dark blue, 0.5 → green, 1 → dark red. */
export function jet(t: number, out: [number, number, number]): void {
  const x = Math.min(1, Math.max(0, t));
  const channel = (centre: number): number =>
    Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - centre))));
  out[0] = channel(3);
  out[1] = channel(2);
  out[2] = channel(1);
}
