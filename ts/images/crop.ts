import sharp from 'sharp';
import type { DecodedImage } from './decode.ts';
import type { Square } from './geometry.ts';

/**
 * Cuts `square` out of `img` and resizes it to `outSize × outSize` RGB.
 * Parts of the square outside the image repeat the nearest edge pixels, so a
 * face near a border keeps its framing instead of being shifted.
 *
 * @returns `outSize * outSize * 3` bytes.
 */
export async function cropSquare(
  img: DecodedImage,
  square: Square,
  outSize: number,
): Promise<Buffer> {
  const left = Math.max(0, square.x);
  const top = Math.max(0, square.y);
  const right = Math.min(img.width, square.x + square.size);
  const bottom = Math.min(img.height, square.y + square.size);
  if (right <= left || bottom <= top) {
    throw new RangeError(`Square ${JSON.stringify(square)} misses the image`);
  }
  const inside =
    left === square.x &&
    top === square.y &&
    right === square.x + square.size &&
    bottom === square.y + square.size;
  // One sharp pipeline: cut (and, past the border, pad in memory), then
  // resize. Same pixels as extracting, extending and resizing in steps.
  const source = inside
    ? sharp(img.data, {
        raw: { width: img.width, height: img.height, channels: 3 },
      }).extract({
        left,
        top,
        width: square.size,
        height: square.size,
      })
    : sharp(padSquare(img, square), {
        raw: { width: square.size, height: square.size, channels: 3 },
      });
  if (square.size === outSize) return source.raw().toBuffer();
  return source.resize(outSize, outSize, { fit: 'fill' }).raw().toBuffer();
}

/**
 * `square` cut from `img`, the parts outside the image repeating the nearest
 * edge pixel (so a face near a border keeps its framing).
 */
function padSquare(img: DecodedImage, square: Square): Buffer {
  const { size } = square;
  const out = Buffer.allocUnsafe(size * size * 3);
  // Columns inside the image are one copy per row; only the padding
  // columns repeat the edge pixel one by one.
  const left = Math.max(0, square.x);
  const right = Math.min(img.width, square.x + size); // > left: checked by the caller
  const padLeft = left - square.x;
  const padRight = square.x + size - right;
  const src = img.data;
  const rowBytes = img.width * 3;
  for (let r = 0; r < size; r++) {
    const y = Math.min(img.height - 1, Math.max(0, square.y + r));
    const row = y * rowBytes;
    let o = r * size * 3;
    const first = row + left * 3;
    for (let i = 0; i < padLeft; i++, o += 3) {
      out[o] = src[first];
      out[o + 1] = src[first + 1];
      out[o + 2] = src[first + 2];
    }
    o += src.copy(out, o, first, row + right * 3);
    const last = row + (right - 1) * 3;
    for (let i = 0; i < padRight; i++, o += 3) {
      out[o] = src[last];
      out[o + 1] = src[last + 1];
      out[o + 2] = src[last + 2];
    }
  }
  return out;
}

/**
 * A copy of `img` whose longer side is at most `maxSide` (unchanged when it
 * already fits), and the factor from `img` pixels to the copy's pixels.
 */
export async function downscale(
  img: DecodedImage,
  maxSide: number,
): Promise<{ image: DecodedImage; scale: number }> {
  const longer = Math.max(img.width, img.height);
  if (longer <= maxSide) return { image: img, scale: 1 };
  const { data, info } = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(maxSide, maxSide, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const scale = info.width / img.width;
  return {
    image: {
      ...img,
      data,
      width: info.width,
      height: info.height,
      scale: img.scale * scale,
    },
    scale,
  };
}
