import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, type ImageLimits } from '../../ts/images/decode.ts';
import { isAppError } from '../../ts/errors.ts';

const LIMITS: ImageLimits = {
  maxBytes: 5_000_000,
  maxPixels: 4_000_000,
  minSide: 16,
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err: unknown) {
    if (isAppError(err)) return err.code;
    throw err;
  }
  return 'OK';
}

/** A 40×20 image: left half red, right half blue. */
function halves(channels: 3 | 4 = 3): sharp.Sharp {
  const w = 40;
  const h = 20;
  const data = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * channels;
      data[i] = x < w / 2 ? 255 : 0;
      data[i + 2] = x < w / 2 ? 0 : 255;
      if (channels === 4) data[i + 3] = 255;
    }
  }
  return sharp(data, { raw: { width: w, height: h, channels } });
}

/** Rewrites a PNG's IHDR so it declares `width × height` (CRC fixed). */
function declareSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

function pixel(img: { data: Buffer; width: number }, x: number, y: number) {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

describe('decodeImage', () => {
  it('rejects a 0-byte upload with EMPTY_UPLOAD', async () => {
    expect(await codeOf(decodeImage(Buffer.alloc(0), LIMITS))).toBe(
      'EMPTY_UPLOAD',
    );
  });

  it('rejects text posing as an image with NOT_AN_IMAGE', async () => {
    const html = Buffer.from('<html><body>not a picture</body></html>');
    expect(await codeOf(decodeImage(html, LIMITS))).toBe('NOT_AN_IMAGE');
  });

  it('rejects a declared 20000x20000 PNG before decoding it', async () => {
    const png = await declareSize(
      await sharp({
        create: { width: 16, height: 16, channels: 3, background: '#000' },
      })
        .png()
        .toBuffer(),
      20000,
      20000,
    );
    expect(png.length).toBeLessThan(1000);
    expect(await codeOf(decodeImage(png, LIMITS))).toBe('TOO_MANY_PIXELS');
  });

  it('rejects a PNG declaring absurd sides with TOO_MANY_PIXELS', async () => {
    const small = await sharp({
      create: { width: 16, height: 16, channels: 3, background: '#000' },
    })
      .png()
      .toBuffer();
    for (const [w, h] of [
      [2147483647, 1],
      [2000000, 2000000],
    ]) {
      const png = declareSize(small, w, h);
      expect(await codeOf(decodeImage(png, LIMITS))).toBe('TOO_MANY_PIXELS');
    }
  });

  it('rejects an 8x8 image with IMAGE_TOO_SMALL', async () => {
    const tiny = await sharp({
      create: { width: 8, height: 8, channels: 3, background: '#888' },
    })
      .png()
      .toBuffer();
    expect(await codeOf(decodeImage(tiny, LIMITS))).toBe('IMAGE_TOO_SMALL');
  });

  it('rejects a truncated JPEG with UNDECODABLE_IMAGE', async () => {
    const noise = Buffer.alloc(200 * 200 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
    const jpeg = await sharp(noise, {
      raw: { width: 200, height: 200, channels: 3 },
    })
      .jpeg()
      .toBuffer();
    const cut = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    expect(await codeOf(decodeImage(cut, LIMITS))).toBe('UNDECODABLE_IMAGE');
  });

  it('calls a file whose image header is broken UNDECODABLE_IMAGE, not NOT_AN_IMAGE', async () => {
    const jpeg = await halves().jpeg().toBuffer();
    const png = await halves().png().toBuffer();
    const gif = await halves().gif().toBuffer();
    const webp = await halves().webp().toBuffer();
    // Cut inside the header: the size is never reached.
    for (const cut of [
      jpeg.subarray(0, 40),
      png.subarray(0, 30),
      gif.subarray(0, 8),
      webp.subarray(0, 20),
    ]) {
      expect(await codeOf(decodeImage(cut, LIMITS))).toBe('UNDECODABLE_IMAGE');
    }
    // The header overwritten after the signature.
    const scrambled = Buffer.from(jpeg);
    scrambled.fill(0x5a, 3, 300);
    expect(await codeOf(decodeImage(scrambled, LIMITS))).toBe(
      'UNDECODABLE_IMAGE',
    );
    const noise = Buffer.from(Array.from({ length: 500 }, (_, i) => i % 256));
    expect(await codeOf(decodeImage(noise, LIMITS))).toBe('NOT_AN_IMAGE');
  });

  it('applies EXIF orientation 6 so the image is upright', async () => {
    const jpeg = await halves()
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImage(jpeg, LIMITS);
    expect(img.orientationApplied).toBe(true);
    expect([img.width, img.height]).toEqual([20, 40]);
    // Rotated 90° clockwise: the red left half ends up on top.
    expect(pixel(img, 10, 5)[0]).toBeGreaterThan(200);
    expect(pixel(img, 10, 35)[2]).toBeGreaterThan(200);
  });

  it('scales a 16-bit PNG to 8 bit instead of clamping it to white', async () => {
    const png = await sharp({
      create: { width: 32, height: 32, channels: 3, background: '#404040' },
    })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const img = await decodeImage(png, LIMITS);
    expect(pixel(img, 3, 3)[0]).toBeGreaterThan(50);
    expect(pixel(img, 3, 3)[0]).toBeLessThan(80);
  });

  it('gives exactly three channels for greyscale and grey+alpha', async () => {
    for (const channels of [1, 2] as const) {
      const png = await sharp({
        create: {
          width: 32,
          height: 32,
          channels: channels === 1 ? 3 : 4,
          background: { r: 90, g: 90, b: 90, alpha: 1 },
        },
      })
        .toColourspace('b-w')
        .png()
        .toBuffer();
      const img = await decodeImage(png, LIMITS);
      expect(img.data.length).toBe(32 * 32 * 3);
    }
  });

  it('composites transparent pixels onto white, hiding their colour', async () => {
    const data = Buffer.alloc(32 * 32 * 4);
    for (let i = 0; i < 32 * 32; i++) data[i * 4] = 255; // red, alpha 0
    const png = await sharp(data, {
      raw: { width: 32, height: 32, channels: 4 },
    })
      .png()
      .toBuffer();
    const img = await decodeImage(png, LIMITS);
    expect(pixel(img, 5, 5)).toEqual([255, 255, 255]);
  });

  it('converts a CMYK JPEG to sRGB without inverting it', async () => {
    const cmyk = await halves().toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const img = await decodeImage(cmyk, LIMITS);
    const [r, , b] = pixel(img, 5, 10);
    expect(r).toBeGreaterThan(180);
    expect(b).toBeLessThan(90);
  });

  it('decodes the first frame of an animated GIF and says how many', async () => {
    // Two 32x32 frames stacked: red on top of blue.
    const raw = Buffer.alloc(32 * 64 * 3);
    for (let i = 0; i < 32 * 64; i++) raw[i * 3 + (i < 32 * 32 ? 0 : 2)] = 255;
    const animated = await sharp(raw, {
      raw: { width: 32, height: 64, channels: 3, pageHeight: 32 },
    } as sharp.SharpOptions)
      .gif({ loop: 0 })
      .toBuffer();
    const img = await decodeImage(animated, LIMITS);
    expect(img.height).toBe(32);
    expect(img.frames).toBe(2);
    expect(pixel(img, 5, 5)[0]).toBeGreaterThan(200);
  });

  it('shrinks a large photo while decoding and reports the original size', async () => {
    const big = await sharp({
      create: { width: 3000, height: 1000, channels: 3, background: '#abc' },
    })
      .jpeg()
      .toBuffer();
    const img = await decodeImage(big, { ...LIMITS, workingMaxSide: 600 });
    expect([img.width, img.height]).toEqual([600, 200]);
    expect([img.originalWidth, img.originalHeight]).toEqual([3000, 1000]);
    expect(img.scale).toBeCloseTo(0.2);
  });
});
