import type { WireError } from './ops.ts';
import {
  byteLengthOf,
  DTYPES,
  type Tensor,
  type TensorSpec,
} from './tensors.ts';
import { PROTOCOL_VERSION } from './version.ts';

/** Frame 0 of a request. */
export interface RequestHeader {
  v: number;
  id: string;
  op: string;
  tensors: TensorSpec[];
  options: Record<string, unknown>;
}

export interface OkReplyHeader {
  v: number;
  id: string;
  ok: true;
  result: Record<string, unknown>;
  tensors: TensorSpec[];
}

export interface ErrorReplyHeader {
  v: number;
  /** null when the request was too malformed to read its id. */
  id: string | null;
  ok: false;
  error: WireError;
}

/** Frame 0 of a reply. */
export type ReplyHeader = OkReplyHeader | ErrorReplyHeader;

/** A decoded message: its header and its tensors, in frame order. */
export interface Decoded<H> {
  header: H;
  tensors: Tensor[];
}

/** A frame list that breaks the contract; `code` is the wire error code. */
export class ProtocolError extends Error {
  constructor(
    readonly code: 'BAD_HEADER' | 'BAD_TENSOR',
    message: string,
    /** The message's id, when it could be read. */
    readonly id: string | null = null,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Frames = readonly Uint8Array[];

/** The frames of a request. Tensor frames are sent as given, not copied. */
export function encodeRequest(
  id: string,
  op: string,
  options: object = {},
  tensors: readonly Tensor[] = [],
): Uint8Array[] {
  const header = { v: PROTOCOL_VERSION, id, op, tensors: specs(tensors) };
  return withTensors({ ...header, options }, tensors);
}

/** The frames of a reply (the ROUTER side; used by fakes and tests). */
export function encodeReply(
  header: Omit<OkReplyHeader, 'v' | 'tensors'> | Omit<ErrorReplyHeader, 'v'>,
  tensors: readonly Tensor[] = [],
): Uint8Array[] {
  const full = header.ok
    ? { v: PROTOCOL_VERSION, ...header, tensors: specs(tensors) }
    : { v: PROTOCOL_VERSION, ...header };
  return withTensors(full, header.ok ? tensors : []);
}

/** Total bytes of a frame list, the figure checked against the size limit. */
export function messageBytes(frames: Frames): number {
  return frames.reduce((n, f) => n + f.byteLength, 0);
}

/**
 * Parses a request (the ROUTER side, identity frame already removed).
 * @throws ProtocolError with the code the sidecar would reply with.
 */
export function decodeRequest(frames: Frames): Decoded<RequestHeader> {
  const raw = parseHeader(frames);
  const id = typeof raw.id === 'string' ? raw.id : null;
  if (id === null || typeof raw.op !== 'string') {
    throw new ProtocolError('BAD_HEADER', 'header needs string id and op', id);
  }
  checkVersion(raw, id);
  const options = raw.options ?? {};
  if (!isRecord(options)) {
    throw new ProtocolError('BAD_HEADER', 'options must be an object', id);
  }
  const tensors = readTensors(raw.tensors ?? [], frames, id);
  const header = { v: PROTOCOL_VERSION, id, op: raw.op, options };
  return { header: { ...header, tensors: tensors.map(specOf) }, tensors };
}

/**
 * Parses a reply.
 * @throws ProtocolError when the frames do not form a valid reply.
 */
export function decodeReply(frames: Frames): Decoded<ReplyHeader> {
  const raw = parseHeader(frames);
  const id = typeof raw.id === 'string' ? raw.id : null;
  if (id === null && raw.id !== null) {
    throw new ProtocolError('BAD_HEADER', 'reply id must be string or null');
  }
  checkVersion(raw, id);
  if (raw.ok === false) {
    const error = raw.error;
    if (!isRecord(error) || typeof error.code !== 'string') {
      throw new ProtocolError('BAD_HEADER', 'error reply without code', id);
    }
    const message = String(error.message ?? '');
    const header = { v: PROTOCOL_VERSION, id, ok: false as const };
    return {
      header: { ...header, error: { code: error.code, message } },
      tensors: [],
    };
  }
  if (raw.ok !== true || id === null || !isRecord(raw.result)) {
    throw new ProtocolError('BAD_HEADER', 'reply needs ok, id, result', id);
  }
  const tensors = readTensors(raw.tensors ?? [], frames, id);
  const header = { v: PROTOCOL_VERSION, id, ok: true as const };
  return {
    header: { ...header, result: raw.result, tensors: tensors.map(specOf) },
    tensors,
  };
}

function specs(tensors: readonly Tensor[]): TensorSpec[] {
  return tensors.map(specOf);
}

function specOf(t: TensorSpec): TensorSpec {
  return { name: t.name, dtype: t.dtype, shape: t.shape };
}

function withTensors(header: object, tensors: readonly Tensor[]) {
  const head = new TextEncoder().encode(JSON.stringify(header));
  return [head, ...tensors.map((t) => t.data)];
}

function parseHeader(frames: Frames): Record<string, unknown> {
  if (frames.length === 0) {
    throw new ProtocolError('BAD_HEADER', 'empty message');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(frames[0]),
    );
  } catch {
    throw new ProtocolError('BAD_HEADER', 'frame 0 is not UTF-8 JSON');
  }
  if (!isRecord(raw)) {
    throw new ProtocolError('BAD_HEADER', 'frame 0 is not a JSON object');
  }
  return raw;
}

function checkVersion(raw: Record<string, unknown>, id: string | null) {
  if (raw.v !== PROTOCOL_VERSION) {
    const msg = `protocol version ${String(raw.v)}, expected ${PROTOCOL_VERSION}`;
    throw new ProtocolError('BAD_HEADER', msg, id);
  }
}

function readTensors(list: unknown, frames: Frames, id: string): Tensor[] {
  if (!Array.isArray(list)) {
    throw new ProtocolError('BAD_HEADER', 'tensors must be a list', id);
  }
  if (frames.length !== list.length + 1) {
    const msg = `${list.length} tensors declared, ${frames.length - 1} frames`;
    throw new ProtocolError('BAD_TENSOR', msg, id);
  }
  return list.map((entry: unknown, i) => {
    const spec = readSpec(entry, id);
    const data = frames[i + 1];
    if (data.byteLength !== byteLengthOf(spec)) {
      const msg =
        `tensor ${spec.name}: expected ${byteLengthOf(spec)} bytes, ` +
        `got ${data.byteLength}`;
      throw new ProtocolError('BAD_TENSOR', msg, id);
    }
    return { ...spec, data };
  });
}

function readSpec(entry: unknown, id: string): TensorSpec {
  const ok =
    isRecord(entry) &&
    typeof entry.name === 'string' &&
    (DTYPES as readonly unknown[]).includes(entry.dtype) &&
    Array.isArray(entry.shape) &&
    entry.shape.every((d) => Number.isInteger(d) && d >= 0);
  if (!ok) {
    const msg = `bad tensor entry ${JSON.stringify(entry)}`;
    throw new ProtocolError('BAD_TENSOR', msg, id);
  }
  return entry as unknown as TensorSpec;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
