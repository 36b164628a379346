import { describe, expect, it } from 'vitest';
import { Rng } from '../../ts/data/random.ts';
import { augmentInto, type AugmentOptions } from '../../ts/train/augment.ts';

const IDENTITY: AugmentOptions = {
  flip: false,
  scale: [1, 1],
  shift: 0,
  rotate: 0,
  brightness: 0,
  contrast: 0,
  saturation: 0,
  grayscale: 0,
};

function gradient(size: number): Uint8Array {
  const img = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      img[i] = x * 10;
      img[i + 1] = y * 10;
      img[i + 2] = 128;
    }
  }
  return img;
}

describe('augmentInto', () => {
  it('copies the image unchanged when every option is off', () => {
    const src = gradient(16);
    const out = new Uint8Array(src.length);
    augmentInto(src, 0, out, 0, 16, new Rng(1), IDENTITY);
    expect(out).toEqual(src);
  });

  it('mirrors the image when it flips', () => {
    const src = gradient(16);
    const out = new Uint8Array(src.length);
    const rng = new Rng(1);
    // Find a draw that flips (probability 1/2 per image).
    for (let k = 0; k < 20; k++) {
      augmentInto(src, 0, out, 0, 16, rng, { ...IDENTITY, flip: true });
      if (out[0] !== src[0]) break;
    }
    expect(out[0]).toBe(src[15 * 3]);
    expect(out[15 * 3]).toBe(src[0]);
  });

  it('makes all channels equal when it turns the image grey', () => {
    const src = gradient(8);
    const out = new Uint8Array(src.length);
    augmentInto(src, 0, out, 0, 8, new Rng(2), { ...IDENTITY, grayscale: 1 });
    for (let i = 0; i < out.length; i += 3) {
      expect(out[i]).toBe(out[i + 1]);
      expect(out[i + 1]).toBe(out[i + 2]);
    }
  });

  it('repeats exactly for the same seed', () => {
    const src = gradient(16);
    const opts: AugmentOptions = {
      ...IDENTITY,
      flip: true,
      scale: [0.9, 1.1],
      shift: 0.1,
      rotate: 10,
      brightness: 0.2,
    };
    const a = new Uint8Array(src.length);
    const b = new Uint8Array(src.length);
    augmentInto(src, 0, a, 0, 16, new Rng(5), opts);
    augmentInto(src, 0, b, 0, 16, new Rng(5), opts);
    expect(a).toEqual(b);
  });
});
