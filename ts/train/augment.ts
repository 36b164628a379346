import type { Rng } from '../data/random.ts';

/** Training-time augmentation; every field off (0/false) means identity. */
export interface AugmentOptions {
  flip: boolean;
  /** Zoom range, e.g. [0.9, 1.1]. */
  scale: [number, number];
  /** Largest shift, as a fraction of the side. */
  shift: number;
  /** Largest rotation, in degrees. */
  rotate: number;
  /** Largest relative change of brightness, contrast and saturation. */
  brightness: number;
  contrast: number;
  saturation: number;
  /** Probability of turning the image grey (some data sets are grey). */
  grayscale: number;
}

interface Draw {
  flip: boolean;
  /** Inverse affine: destination offset from centre → source offset. */
  a: number;
  b: number;
  c: number;
  d: number;
  tx: number;
  ty: number;
  brightness: number;
  contrast: number;
  saturation: number;
  grey: boolean;
}

function draw(rng: Rng, o: AugmentOptions, size: number): Draw {
  const s = rng.uniform(o.scale[0], o.scale[1]);
  const angle = (rng.uniform(-o.rotate, o.rotate) * Math.PI) / 180;
  const cos = Math.cos(angle) / s;
  const sin = Math.sin(angle) / s;
  return {
    flip: o.flip && rng.next() < 0.5,
    a: cos,
    b: -sin,
    c: sin,
    d: cos,
    tx: rng.uniform(-o.shift, o.shift) * size,
    ty: rng.uniform(-o.shift, o.shift) * size,
    brightness: 1 + rng.uniform(-o.brightness, o.brightness),
    contrast: 1 + rng.uniform(-o.contrast, o.contrast),
    saturation: 1 + rng.uniform(-o.saturation, o.saturation),
    grey: rng.next() < o.grayscale,
  };
}

/**
 * Writes an augmented copy of one `size × size` RGB crop into `out` at
 * `offset`: a random flip, zoom, shift and rotation (bilinear, edges
 * repeated), then brightness, contrast, saturation and sometimes grey.
 */
export function augmentInto(
  src: Uint8Array,
  srcOffset: number,
  out: Uint8Array,
  offset: number,
  size: number,
  rng: Rng,
  opts: AugmentOptions,
): void {
  const t = draw(rng, opts, size);
  const half = size / 2;
  const px = new Float32Array(size * size * 3);
  let sum = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (t.flip ? size - 1 - x : x) + 0.5 - half - t.tx;
      const dy = y + 0.5 - half - t.ty;
      const sx = t.a * dx + t.b * dy + half - 0.5;
      const sy = t.c * dx + t.d * dy + half - 0.5;
      const i = (y * size + x) * 3;
      sampleRgb(src, srcOffset, size, sx, sy, px, i);
      sum += px[i] + px[i + 1] + px[i + 2];
    }
  }
  const mean = sum / (size * size * 3);
  for (let i = 0; i < px.length; i += 3) {
    const grey = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
    for (let ch = 0; ch < 3; ch++) {
      let v = t.grey ? grey : grey + (px[i + ch] - grey) * t.saturation;
      v = (v - mean) * t.contrast + mean;
      v *= t.brightness;
      out[offset + i + ch] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
}

function sampleRgb(
  src: Uint8Array,
  base: number,
  size: number,
  x: number,
  y: number,
  out: Float32Array,
  at: number,
): void {
  const cx = Math.min(size - 1, Math.max(0, x));
  const cy = Math.min(size - 1, Math.max(0, y));
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(size - 1, x0 + 1);
  const y1 = Math.min(size - 1, y0 + 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const i00 = base + (y0 * size + x0) * 3;
  const i01 = base + (y0 * size + x1) * 3;
  const i10 = base + (y1 * size + x0) * 3;
  const i11 = base + (y1 * size + x1) * 3;
  for (let ch = 0; ch < 3; ch++) {
    const top = src[i00 + ch] * (1 - fx) + src[i01 + ch] * fx;
    const bottom = src[i10 + ch] * (1 - fx) + src[i11 + ch] * fx;
    out[at + ch] = top * (1 - fy) + bottom * fy;
  }
}
