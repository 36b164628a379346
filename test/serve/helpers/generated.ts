import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { drawnFace } from '../../../ts/cli/drawn-face.ts';

/** A grey canvas with `faces` pasted at the given places and heights. */
export async function scene(
  width: number,
  height: number,
  faces: { image: Buffer; left: number; top: number; height: number }[],
  background = '#808080',
): Promise<Buffer> {
  const layers = await Promise.all(
    faces.map(async (f) => ({
      input: await sharp(f.image).resize({ height: f.height }).png().toBuffer(),
      left: f.left,
      top: f.top,
    })),
  );
  return sharp({ create: { width, height, channels: 3, background } })
    .composite(layers)
    .removeAlpha()
    .png()
    .toBuffer();
}

/** Random noise, checkerboard and flat grey: images with no face. */
export async function noFaceImages(): Promise<Record<string, Buffer>> {
  const noise = await sharp({
    create: {
      width: 320,
      height: 240,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .png()
    .toBuffer();
  const cell = 20;
  const board = Buffer.alloc(320 * 240 * 3);
  for (let y = 0; y < 240; y++) {
    for (let x = 0; x < 320; x++) {
      const v = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? 255 : 0;
      board.fill(v, (y * 320 + x) * 3, (y * 320 + x) * 3 + 3);
    }
  }
  const checker = await sharp(board, {
    raw: { width: 320, height: 240, channels: 3 },
  })
    .png()
    .toBuffer();
  const flat = await sharp({
    create: { width: 320, height: 240, channels: 3, background: '#7f7f7f' },
  })
    .png()
    .toBuffer();
  return { noise, checker, flat };
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A few-hundred-byte PNG whose header declares `width × height` pixels: a
 * decompression bomb as far as any decoder that trusts the header knows.
 */
export function pngBombHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk(
      'IDAT',
      Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
    ),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * An HEIC-branded file: an AVIF with its brands and codec boxes renamed to
 * HEVC's, which a build without an HEVC decoder cannot decode.
 */
export async function fakeHeic(face: Buffer): Promise<Buffer> {
  const avif = await sharp(face).avif().toBuffer();
  let text = avif.toString('latin1');
  for (const [from, to] of [
    ['avif', 'heic'],
    ['av01', 'hvc1'],
    ['av1C', 'hvcC'],
  ]) {
    text = text.split(from).join(to);
  }
  return Buffer.from(text, 'latin1');
}

/** Mean RGB of a region of a PNG (or any image sharp reads). */
export async function meanColour(
  image: Buffer,
  region: { left: number; top: number; width: number; height: number },
): Promise<[number, number, number]> {
  // stats() would describe the whole input, not the extracted region.
  const { data, info } = await sharp(image)
    .extract(region)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) {
    for (let c = 0; c < 3; c++) sum[c] += data[i + c];
  }
  const n = data.length / info.channels;
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** Decodes a `data:image/png;base64,` URL. */
export function dataUrlPng(url: string): Buffer {
  const prefix = 'data:image/png;base64,';
  if (!url.startsWith(prefix)) throw new Error('not a PNG data URL');
  return Buffer.from(url.slice(prefix.length), 'base64');
}

export {
  drawnFace as syntheticFace,
  type DrawnFaceOptions as SyntheticFaceOptions,
} from '../../../ts/cli/drawn-face.ts';

/** Four different synthetic faces. */
export function syntheticFaces(): Promise<Buffer[]> {
  return Promise.all([
    drawnFace(),
    drawnFace({
      skin: ['#d9a77c', '#8d5a36'],
      hair: '#1a1410',
      smiling: false,
    }),
    drawnFace({
      skin: ['#f5d7bd', '#d8a882'],
      hair: '#b88a3a',
      background: '#c8c0a8',
    }),
    drawnFace({
      skin: ['#c08a60', '#7a4e30'],
      hair: '#222222',
      smiling: false,
    }),
  ]);
}
