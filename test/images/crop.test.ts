import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropSquare } from '../../ts/images/crop.ts';
import type { DecodedImage } from '../../ts/images/decode.ts';
import { faceSquare } from '../../ts/images/geometry.ts';
import { renderOverlay } from '../../ts/images/overlay.ts';

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
});
