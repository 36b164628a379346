import { describe, expect, it } from 'vitest';
import {
  asFloat32,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  float32Tensor,
  messageBytes,
  ProtocolError,
  PROTOCOL_VERSION,
  uint8Tensor,
} from '../../ts/protocol/index.ts';

const text = (s: string) => new TextEncoder().encode(s);
const headerOf = (frames: Uint8Array[]) =>
  JSON.parse(new TextDecoder().decode(frames[0])) as Record<string, unknown>;

function protocolError(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (err: unknown) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('encodeRequest', () => {
  it('writes the header of the contract and one frame per tensor', () => {
    const images = uint8Tensor(
      'images',
      new Uint8Array(2 * 4 * 4 * 3),
      [2, 4, 4, 3],
    );
    const frames = encodeRequest('r1', 'predict', { explain: ['smile'] }, [
      images,
    ]);
    expect(frames).toHaveLength(2);
    expect(headerOf(frames)).toEqual({
      v: PROTOCOL_VERSION,
      id: 'r1',
      op: 'predict',
      tensors: [{ name: 'images', dtype: 'uint8', shape: [2, 4, 4, 3] }],
      options: { explain: ['smile'] },
    });
  });

  it('sends tensor bytes without copying them', () => {
    const data = new Uint8Array(12);
    const frames = encodeRequest('r1', 'detect', {}, [
      uint8Tensor('image', data, [2, 2, 3]),
    ]);
    expect(frames[1]).toBe(data);
    expect(messageBytes(frames)).toBe(frames[0].byteLength + 12);
  });
});

describe('decodeRequest', () => {
  it('reads back what encodeRequest wrote', () => {
    const labels = float32Tensor('labels', new Float32Array([1, NaN]), [1, 2]);
    const { header, tensors } = decodeRequest(
      encodeRequest('r9', 'train_step', { lr: 0.1 }, [labels]),
    );
    expect(header).toMatchObject({ id: 'r9', op: 'train_step' });
    expect(header.options).toEqual({ lr: 0.1 });
    const back = asFloat32(tensors[0]);
    expect(back[0]).toBe(1);
    expect(Number.isNaN(back[1])).toBe(true);
  });

  it('rejects a frame that is not JSON with BAD_HEADER and no id', () => {
    const err = protocolError(() => decodeRequest([text('not json')]));
    expect(err.code).toBe('BAD_HEADER');
    expect(err.id).toBeNull();
  });

  it('rejects another protocol version with BAD_HEADER and the id', () => {
    const frame = text(JSON.stringify({ v: 2, id: 'r1', op: 'hello' }));
    const err = protocolError(() => decodeRequest([frame]));
    expect(err).toMatchObject({ code: 'BAD_HEADER', id: 'r1' });
  });

  it('rejects a frame of the wrong byte length with BAD_TENSOR', () => {
    const header = {
      v: 1,
      id: 'r2',
      op: 'detect',
      tensors: [{ name: 'image', dtype: 'uint8', shape: [2, 2, 3] }],
      options: {},
    };
    const frames = [text(JSON.stringify(header)), new Uint8Array(11)];
    expect(protocolError(() => decodeRequest(frames))).toMatchObject({
      code: 'BAD_TENSOR',
      id: 'r2',
    });
  });

  it('rejects a missing tensor frame with BAD_TENSOR', () => {
    const frames = encodeRequest('r3', 'detect', {}, [
      uint8Tensor('image', new Uint8Array(3), [1, 1, 3]),
    ]);
    expect(protocolError(() => decodeRequest(frames.slice(0, 1))).code).toBe(
      'BAD_TENSOR',
    );
  });

  it('rejects an unknown dtype with BAD_TENSOR', () => {
    const header = {
      v: 1,
      id: 'r4',
      op: 'detect',
      tensors: [{ name: 'image', dtype: 'int64', shape: [1] }],
    };
    const frames = [text(JSON.stringify(header)), new Uint8Array(8)];
    expect(protocolError(() => decodeRequest(frames)).code).toBe('BAD_TENSOR');
  });
});

describe('decodeReply', () => {
  it('reads an ok reply with its float32 tensors', () => {
    const cam = new Float32Array([0, 0.5, 1, 0.25]);
    const frames = encodeReply(
      { id: 'r5', ok: true, result: { logits: { gender: [1], smile: [-1] } } },
      [float32Tensor('cam.smile', cam, [1, 2, 2])],
    );
    const { header, tensors } = decodeReply(frames);
    expect(header.ok && header.result).toEqual({
      logits: { gender: [1], smile: [-1] },
    });
    expect(Array.from(asFloat32(tensors[0]))).toEqual([0, 0.5, 1, 0.25]);
  });

  it('reads an error reply whose id is null', () => {
    const frames = encodeReply({
      id: null,
      ok: false,
      error: { code: 'BAD_HEADER', message: 'not JSON' },
    });
    const { header } = decodeReply(frames);
    expect(header).toMatchObject({ id: null, ok: false });
    expect(!header.ok && header.error.code).toBe('BAD_HEADER');
  });

  it('rejects an ok reply without a result with BAD_HEADER', () => {
    const frame = text(JSON.stringify({ v: 1, id: 'r6', ok: true }));
    expect(protocolError(() => decodeReply([frame]))).toMatchObject({
      code: 'BAD_HEADER',
      id: 'r6',
    });
  });
});

describe('tensor helpers', () => {
  it('views an aligned float32 frame without copying', () => {
    const cam = new Float32Array([1, 2, 3]);
    const t = float32Tensor('cam.gender', cam, [3]);
    expect(asFloat32(t).buffer).toBe(cam.buffer);
  });

  it('copies a float32 frame that starts at an odd offset', () => {
    const bytes = new Uint8Array(13);
    new DataView(bytes.buffer).setFloat32(1, 2.5, true);
    const t = {
      name: 'x',
      dtype: 'float32' as const,
      shape: [3],
      data: bytes.subarray(1),
    };
    expect(asFloat32(t)[0]).toBe(2.5);
  });

  it('rejects data that does not fill the shape', () => {
    expect(() => uint8Tensor('images', new Uint8Array(5), [2, 3])).toThrow(
      RangeError,
    );
  });
});
