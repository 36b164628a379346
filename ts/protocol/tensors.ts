/** Tensor frames: raw little-endian bytes in C order, described by a spec. */

export const DTYPES = ['uint8', 'float32'] as const;
export type DType = (typeof DTYPES)[number];

/** Bytes per element of each dtype. */
export const ITEMSIZE: Record<DType, number> = { uint8: 1, float32: 4 };

/** One entry of a header's `tensors` list. */
export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

/** A spec with its frame: `data.byteLength === byteLengthOf(spec)`. */
export interface Tensor extends TensorSpec {
  data: Uint8Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `prod(shape) * itemsize`: the byte length a tensor's frame must have. */
export function byteLengthOf(spec: TensorSpec): number {
  return spec.shape.reduce((n, d) => n * d, 1) * ITEMSIZE[spec.dtype];
}

/**
 * A `uint8` tensor over `data` (no copy).
 * @throws RangeError when the byte length does not match the shape.
 */
export function uint8Tensor(
  name: string,
  data: Uint8Array,
  shape: number[],
): Tensor {
  return checked({ name, dtype: 'uint8', shape, data });
}

/**
 * A `float32` tensor whose frame is a byte view over `data`'s memory (no
 * copy; the host is little-endian, as the wire is).
 * @throws RangeError when the element count does not match the shape.
 */
export function float32Tensor(
  name: string,
  data: Float32Array,
  shape: number[],
): Tensor {
  assertLittleEndian();
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return checked({ name, dtype: 'float32', shape, data: bytes });
}

/**
 * The tensor's elements as a Float32Array: a view over the frame when its
 * offset is 4-byte aligned, otherwise a copy (received frames may start at
 * any offset inside a pooled buffer).
 * @throws TypeError when the tensor is not float32.
 */
export function asFloat32(t: Tensor): Float32Array {
  if (t.dtype !== 'float32') {
    throw new TypeError(`tensor ${t.name}: expected float32, got ${t.dtype}`);
  }
  assertLittleEndian();
  const { buffer, byteOffset, byteLength } = t.data;
  if (byteOffset % 4 === 0) {
    return new Float32Array(buffer, byteOffset, byteLength / 4);
  }
  return new Float32Array(t.data.slice().buffer);
}

/** Throws a RangeError unless the frame length matches the spec. */
export function checked(t: Tensor): Tensor {
  const want = byteLengthOf(t);
  if (t.data.byteLength !== want) {
    throw new RangeError(
      `tensor ${t.name}: shape [${t.shape.join(', ')}] ${t.dtype} needs ` +
        `${want} bytes, got ${t.data.byteLength}`,
    );
  }
  return t;
}

function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) {
    throw new Error('float32 frames need a little-endian host');
  }
}
