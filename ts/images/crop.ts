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
  const raw = { width: img.width, height: img.height, channels: 3 as const };
  // sharp resizes before it extends, whatever the call order: pad first in
  // one pipeline, then resize the padded square in a second one.
  const padded = await sharp(img.data, { raw })
    .extract({ left, top, width: right - left, height: bottom - top })
    .extend({
      left: left - square.x,
      top: top - square.y,
      right: square.x + square.size - right,
      bottom: square.y + square.size - bottom,
      extendWith: 'copy',
    })
    .raw()
    .toBuffer();
  if (square.size === outSize) return padded;
  return sharp(padded, {
    raw: { width: square.size, height: square.size, channels: 3 },
  })
    .resize(outSize, outSize, { fit: 'fill' })
    .raw()
    .toBuffer();
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
