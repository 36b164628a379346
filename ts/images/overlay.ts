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
  const base = await displayCopy(img, k);
  const { width, height } = base;
  const out = Buffer.from(base.data);
  const scale = camSize / square.size;
  const x0 = Math.max(0, Math.floor(square.x * k));
  const y0 = Math.max(0, Math.floor(square.y * k));
  const x1 = Math.min(width, Math.ceil((square.x + square.size) * k));
  const y1 = Math.min(height, Math.ceil((square.y + square.size) * k));
  // The inverse map is separable: a column's horizontal sample position
  // does not depend on the row, so it is worked out once per column.
  const cols = samplePositions(x0, x1, k, square.x, scale, camSize);
  const rows = samplePositions(y0, y1, k, square.y, scale, camSize);
  const blend = blendTable(opts.alpha);
  // Each map row interpolated across the output columns once; a pixel then
  // only mixes the two rows around it.
  const n = x1 - x0;
  const across = new Float64Array(camSize * n);
  for (let v = 0; v < camSize; v++) {
    for (let c = 0; c < n; c++) {
      const fu = cols.frac[c];
      across[v * n + c] =
        cam[v * camSize + cols.lo[c]] * (1 - fu) +
        cam[v * camSize + cols.hi[c]] * fu;
    }
  }
  for (let y = y0; y < y1; y++) {
    const r = y - y0;
    const top = rows.lo[r] * n;
    const bottom = rows.hi[r] * n;
    const fv = rows.frac[r];
    for (let x = x0; x < x1; x++) {
      const c = x - x0;
      const t = across[top + c] * (1 - fv) + across[bottom + c] * fv;
      const level = Math.round(Math.min(1, Math.max(0, t)) * 255);
      const i = (y * width + x) * 3;
      out[i] = blend[(level << 8) | out[i]];
      out[i + 1] = blend[65536 | (level << 8) | out[i + 1]];
      out[i + 2] = blend[131072 | (level << 8) | out[i + 2]];
    }
  }
  // Level 1: about a third of level 4's encoding time for a slightly larger
  // file; the overlay is made for one response and not kept.
  return sharp(out, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/**
 * For output pixels `from..to-1` along one axis: the two map cells each
 * samples and the weight of the second: a bilinear sample of a `size`-cell
 * map, clamped at its edges.
 */
function samplePositions(
  from: number,
  to: number,
  k: number,
  origin: number,
  scale: number,
  size: number,
): { lo: Int32Array; hi: Int32Array; frac: Float64Array } {
  const n = Math.max(0, to - from);
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const frac = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = ((from + i + 0.5) / k - origin) * scale - 0.5;
    const clamped = Math.min(size - 1, Math.max(0, p));
    lo[i] = Math.floor(clamped);
    hi[i] = Math.min(size - 1, lo[i] + 1);
    frac[i] = clamped - lo[i];
  }
  return { lo, hi, frac };
}

type Rgb = { data: Uint8Array; width: number; height: number };

/**
 * The image at display scale `k`. Shrinking a large image is the costly
 * part of an overlay, and every face and task of one image shares it.
 */
const displayCopies = new WeakMap<DecodedImage, Map<number, Promise<Rgb>>>();

function displayCopy(img: DecodedImage, k: number): Promise<Rgb> {
  if (k >= 1) return Promise.resolve(img);
  let byScale = displayCopies.get(img);
  if (!byScale) {
    byScale = new Map();
    displayCopies.set(img, byScale);
  }
  let copy = byScale.get(k);
  if (!copy) {
    copy = resizeRgb(img, k);
    byScale.set(k, copy);
    // A failed resize is not kept: the next overlay tries again.
    copy.catch(() => byScale.delete(k));
  }
  return copy;
}

async function resizeRgb(img: DecodedImage, k: number): Promise<Rgb> {
  const { data, info } = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(Math.max(1, Math.round(img.width * k)), null)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * For one opacity: channel c of the pixel `base` under heat `level` is at
 * `(c << 16) | (level << 8) | base`. Three 64 KiB tables, built once per
 * opacity, turn each pixel's blend into three lookups.
 */
const blendTables = new Map<number, Uint8Array>();

function blendTable(alpha: number): Uint8Array {
  let table = blendTables.get(alpha);
  if (table) return table;
  table = new Uint8Array(3 << 16);
  const keep = 1 - alpha;
  for (let c = 0; c < 3; c++) {
    for (let level = 0; level < 256; level++) {
      const heat = JET_LUT[level * 3 + c] * alpha;
      const row = (c << 16) | (level << 8);
      // Stored as a Uint8Array store does: truncated toward zero.
      for (let base = 0; base < 256; base++)
        table[row | base] = base * keep + heat;
    }
  }
  if (blendTables.size >= 8) blendTables.clear(); // a handful of opacities at most
  blendTables.set(alpha, table);
  return table;
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
