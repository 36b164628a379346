import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropSquare } from '../../ts/images/crop.ts';
import type { DecodedImage } from '../../ts/images/decode.ts';
import { faceSquare } from '../../ts/images/geometry.ts';
import { jet, renderOverlay } from '../../ts/images/overlay.ts';

/** A w×h image whose red channel is x and green channel is y. */
function ramp(w: number, h: number): DecodedImage {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[(y * w + x) * 3] = x;
      data[(y * w + x) * 3 + 1] = y;
    }
  }
  return {
    data,
    width: w,
    height: h,
    originalWidth: w,
    originalHeight: h,
    scale: 1,
    orientationApplied: false,
    frames: 1,
    format: 'raw',
  };
}

describe('cropSquare', () => {
  it('returns exactly size × size × 3 bytes, also past the edges', async () => {
    const img = ramp(64, 48);
    for (const sq of [
      { x: 0, y: 0, size: 48 },
      { x: -20, y: -10, size: 100 },
      { x: 50, y: 30, size: 40 },
    ]) {
      expect((await cropSquare(img, sq, 24)).length).toBe(24 * 24 * 3);
    }
  });

  it('copies pixels 1:1 when no resize is needed', async () => {
    const crop = await cropSquare(ramp(64, 48), { x: 10, y: 5, size: 16 }, 16);
    expect([crop[0], crop[1]]).toEqual([10, 5]);
    const last = (16 * 16 - 1) * 3;
    expect([crop[last], crop[last + 1]]).toEqual([25, 20]);
  });

  it('repeats the edge pixels where the square leaves the image', async () => {
    const crop = await cropSquare(ramp(64, 48), { x: -8, y: -8, size: 16 }, 16);
    // Top-left corner of the crop lies outside: it repeats pixel (0, 0).
    expect([crop[0], crop[1]]).toEqual([0, 0]);
    const inside = (12 * 16 + 12) * 3;
    expect([crop[inside], crop[inside + 1]]).toEqual([4, 4]);
  });

  it('gives the pixels that sharp gives when extending and resizing in steps', async () => {
    // Training caches were made that way; serving must crop the same.
    let seed = 5;
    const img = ramp(70, 50);
    img.data = Buffer.from(
      img.data.map(() => (seed = (seed * 48271) % 2147483647) & 255),
    );
    const raw = { width: 70, height: 50, channels: 3 as const };
    for (const sq of [
      { x: 5, y: 4, size: 40 },
      { x: -12, y: -7, size: 61 },
      { x: 40, y: 20, size: 45 },
      { x: -10, y: -30, size: 90 }, // past both sides
    ]) {
      const left = Math.max(0, sq.x);
      const top = Math.max(0, sq.y);
      const width = Math.min(70, sq.x + sq.size) - left;
      const height = Math.min(50, sq.y + sq.size) - top;
      const padded = await sharp(img.data, { raw })
        .extract({ left, top, width, height })
        .extend({
          left: left - sq.x,
          top: top - sq.y,
          right: sq.size - width - (left - sq.x),
          bottom: sq.size - height - (top - sq.y),
          extendWith: 'copy',
        })
        .raw()
        .toBuffer();
      const want = await sharp(padded, {
        raw: { width: sq.size, height: sq.size, channels: 3 },
      })
        .resize(24, 24, { fit: 'fill' })
        .raw()
        .toBuffer();
      expect((await cropSquare(img, sq, 24)).equals(want)).toBe(true);
    }
  });
});

describe('faceSquare', () => {
  it('centres a square with the margin on each side of the longer side', () => {
    // side = 50 * 1.5 = 75; centre (30, 45); x = round(30 - 37.5) = -7.
    expect(faceSquare({ x: 10, y: 20, w: 40, h: 50 }, 0.25)).toEqual({
      x: -7,
      y: 8,
      size: 75,
    });
  });
});

describe('renderOverlay', () => {
  it('puts the hot part of the map where the crop came from', async () => {
    const img = ramp(100, 80);
    const size = 8;
    const cam = new Float32Array(size * size);
    // Hot in the crop's top-left quadrant only.
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) cam[y * size + x] = 1;
    const square = { x: 40, y: 20, size: 40 };
    const png = await renderOverlay(img, square, cam, size, {
      alpha: 1,
      maxSide: 1000,
    });
    const { data, info } = await sharp(png)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => {
      const i = (y * info.width + x) * info.channels;
      return [data[i], data[i + 1], data[i + 2]];
    };
    expect([info.width, info.height]).toEqual([100, 80]);
    // Inside the hot quadrant: jet(1) is dark red.
    expect(at(45, 25)[0]).toBeGreaterThan(100);
    expect(at(45, 25)[2]).toBe(0);
    // Inside the square but cold: jet(0) is dark blue.
    expect(at(75, 55)[2]).toBeGreaterThan(100);
    // Outside the square: the image is untouched (red = x, green = y).
    expect(at(10, 10)).toEqual([10, 10, 0]);
  });

  it('colours every pixel as the per-pixel inverse map says', async () => {
    const img = ramp(90, 70);
    const size = 12;
    let seed = 3;
    const cam = Float32Array.from({ length: size * size }, () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    });
    const alpha = 0.5;
    // Squares inside, across the top-left corner and across the right edge.
    for (const square of [
      { x: 20, y: 10, size: 37 },
      { x: -15, y: -9, size: 50 },
      { x: 61, y: 30, size: 45 },
    ]) {
      const png = await renderOverlay(img, square, cam, size, {
        alpha,
        maxSide: 1000,
      });
      const { data } = await sharp(png)
        .raw()
        .toBuffer({ resolveWithObject: true });
      const rgb: [number, number, number] = [0, 0, 0];
      let mismatches = 0;
      for (let y = 0; y < 70; y++) {
        for (let x = 0; x < 90; x++) {
          const i = (y * 90 + x) * 3;
          const inside =
            x >= Math.max(0, square.x) &&
            x < square.x + square.size &&
            y >= Math.max(0, square.y) &&
            y < square.y + square.size;
          const base = [img.data[i], img.data[i + 1], img.data[i + 2]];
          let want = base;
          if (inside) {
            const scale = size / square.size;
            const u = (x + 0.5 - square.x) * scale - 0.5;
            const v = (y + 0.5 - square.y) * scale - 0.5;
            jet(Math.round(sampleBilinear(cam, size, u, v) * 255) / 255, rgb);
            want = base.map((b, c) =>
              Math.floor(b * (1 - alpha) + rgb[c] * alpha),
            );
          }
          for (let c = 0; c < 3; c++) {
            if (Math.abs(data[i + c] - want[c]) > 1) mismatches += 1;
          }
        }
      }
      expect(mismatches).toBe(0);
    }
  });

  it('shrinks a large image once and gives the same overlay each time', async () => {
    const img = ramp(200, 120);
    const cam = new Float32Array(16).fill(0.5);
    const square = { x: 50, y: 10, size: 100 };
    const opts = { alpha: 0.5, maxSide: 100 };
    const [a, b] = await Promise.all([
      renderOverlay(img, square, cam, 4, opts),
      renderOverlay(img, square, cam, 4, opts),
    ]);
    expect(a.equals(b)).toBe(true);
    const info = await sharp(a).metadata();
    expect([info.width, info.height]).toEqual([100, 60]);
  });
});

/** The per-pixel reference: bilinear sample of a square map, clamped at the edges. */
function sampleBilinear(
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
