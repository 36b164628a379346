import sharp from 'sharp';
import { AppError } from '../errors.ts';

/** Limits applied to every image before and while it is decoded. */
export interface ImageLimits {
  /** Largest accepted encoded size, in bytes. */
  maxBytes: number;
  /** Largest accepted width × height, read from the header before decoding. */
  maxPixels: number;
  /** Smallest accepted side, in pixels, after orientation. */
  minSide: number;
  /**
   * Longest side kept after decoding; larger images are downscaled while they
   * are decoded so that huge photos never exist at full size in memory.
   */
  workingMaxSide?: number;
}

/** A decoded image: 3-channel sRGB, 8 bit, in display orientation. */
export interface DecodedImage {
  /** Interleaved RGB bytes, `width * height * 3` long. */
  data: Buffer;
  width: number;
  height: number;
  /** Size of the image as the user sees it (after orientation). */
  originalWidth: number;
  originalHeight: number;
  /** `width / originalWidth` (1 unless the image was downscaled). */
  scale: number;
  /** True when an EXIF orientation other than 1 was applied. */
  orientationApplied: boolean;
  /** Number of frames in the file; only the first one is decoded. */
  frames: number;
  format: string;
}

const DEFAULT_WORKING_MAX_SIDE = 2048;
/** Alpha is composited onto this colour, so hidden pixels never leak. */
const BACKGROUND = { r: 255, g: 255, b: 255 };
/** Formats that sharp reports but whose decoder this build may lack. */
const MAYBE_UNSUPPORTED = new Set(['heif']);

/**
 * Checks and decodes an uploaded image once.
 *
 * The header is read first, so the pixel cap applies before any pixel is
 * decoded. The result is auto-oriented, converted to 8-bit sRGB with exactly
 * three channels, composited over white when it has alpha, and shrunk to
 * `workingMaxSide`. Animated files give their first frame.
 *
 * @throws AppError EMPTY_UPLOAD, UPLOAD_TOO_LARGE, NOT_AN_IMAGE,
 *   UNSUPPORTED_FORMAT, TOO_MANY_PIXELS, UNDECODABLE_IMAGE, IMAGE_TOO_SMALL
 */
export async function decodeImage(
  buf: Buffer,
  limits: ImageLimits,
): Promise<DecodedImage> {
  if (buf.length === 0) throw new AppError('EMPTY_UPLOAD');
  if (buf.length > limits.maxBytes) {
    throw new AppError(
      'UPLOAD_TOO_LARGE',
      `The upload is ${buf.length} bytes; the limit is ${limits.maxBytes}`,
    );
  }
  const meta = await readHeader(buf, limits);
  const rotated = (meta.orientation ?? 1) >= 5;
  const width = rotated ? meta.height : meta.width;
  const height = rotated ? meta.width : meta.height;
  checkSize(width, height, limits);
  return decodePixels(buf, { ...meta, width, height }, limits);
}

interface Header {
  format: string;
  width: number;
  height: number;
  orientation?: number;
  pages: number;
}

/** The PNG signature followed by the length and type of an IHDR chunk. */
const PNG_IHDR = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/**
 * Width and height from a PNG's IHDR, or null. libpng refuses sides above
 * a million pixels before sharp can report them; such a file is an image
 * with too many pixels, not "not an image".
 */
function pngSize(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 24 || !buf.subarray(0, 16).equals(PNG_IHDR)) return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Leading bytes of the formats this build decodes. */
const SIGNATURES: Array<[string, Buffer]> = [
  ['jpeg', Buffer.from([0xff, 0xd8, 0xff])],
  ['png', Buffer.from('89504e470d0a1a0a', 'hex')],
  ['gif', Buffer.from('GIF8', 'latin1')],
  ['tiff', Buffer.from('49492a00', 'hex')],
  ['tiff', Buffer.from('4d4d002a', 'hex')],
];

/** The format a file's first bytes claim, for a header sharp cannot read. */
function claimedFormat(buf: Buffer): string | null {
  for (const [format, magic] of SIGNATURES) {
    if (buf.subarray(0, magic.length).equals(magic)) return format;
  }
  const webp =
    buf.toString('latin1', 0, 4) === 'RIFF' &&
    buf.toString('latin1', 8, 12) === 'WEBP';
  return webp ? 'webp' : null;
}

async function readHeader(buf: Buffer, limits: ImageLimits): Promise<Header> {
  let meta: sharp.Metadata;
  try {
    // limitInputPixels is off here: the cap is applied below with our own
    // error, and metadata() never decodes pixels.
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (err: unknown) {
    const png = pngSize(buf);
    if (png && png.width * png.height > limits.maxPixels) {
      checkSize(png.width, png.height, limits);
    }
    // It starts like an image we read but its header is broken: corrupt or
    // cut short, not "not an image".
    const claimed = claimedFormat(buf);
    if (claimed) {
      throw new AppError(
        'UNDECODABLE_IMAGE',
        `The ${claimed.toUpperCase()} image is corrupt or truncated and cannot be decoded`,
        { cause: err },
      );
    }
    throw new AppError('NOT_AN_IMAGE', undefined, { cause: err });
  }
  const { format, width, height } = meta;
  if (!format || !width || !height) throw new AppError('NOT_AN_IMAGE');
  if (format === 'svg' || format === 'pdf') {
    throw new AppError(
      'UNSUPPORTED_FORMAT',
      `The image format "${format}" is not supported`,
    );
  }
  return {
    format,
    width,
    height,
    orientation: meta.orientation,
    pages: meta.pages ?? 1,
  };
}

function checkSize(width: number, height: number, limits: ImageLimits): void {
  if (width * height > limits.maxPixels) {
    throw new AppError(
      'TOO_MANY_PIXELS',
      `The image is ${width}x${height}; the limit is ${limits.maxPixels} pixels`,
    );
  }
  if (Math.min(width, height) < limits.minSide) {
    throw new AppError(
      'IMAGE_TOO_SMALL',
      `The image is ${width}x${height}; each side must be at least ` +
        `${limits.minSide} pixels`,
    );
  }
}

async function decodePixels(
  buf: Buffer,
  meta: Header,
  limits: ImageLimits,
): Promise<DecodedImage> {
  const maxSide = limits.workingMaxSide ?? DEFAULT_WORKING_MAX_SIDE;
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(buf, {
      limitInputPixels: limits.maxPixels,
      failOn: 'error',
      pages: 1,
    })
      .rotate()
      .resize({
        width: maxSide,
        height: maxSide,
        fit: 'inside',
        withoutEnlargement: true,
      })
      .flatten({ background: BACKGROUND })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err: unknown) {
    throw decodeError(err, meta.format);
  }
  const { data, info } = out;
  if (info.channels !== 3) {
    throw new AppError('UNDECODABLE_IMAGE', undefined, {
      details: { channels: info.channels },
    });
  }
  return {
    data,
    width: info.width,
    height: info.height,
    originalWidth: meta.width,
    originalHeight: meta.height,
    scale: info.width / meta.width,
    orientationApplied: (meta.orientation ?? 1) !== 1,
    frames: meta.pages,
    format: meta.format,
  };
}

function decodeError(err: unknown, format: string): AppError {
  const text = err instanceof Error ? err.message : String(err);
  if (MAYBE_UNSUPPORTED.has(format) || /not built|unsupported/i.test(text)) {
    return new AppError(
      'UNSUPPORTED_FORMAT',
      `This server cannot decode "${format}" images`,
      { cause: err },
    );
  }
  return new AppError('UNDECODABLE_IMAGE', undefined, { cause: err });
}
