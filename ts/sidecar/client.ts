import { Dealer } from 'zeromq';
import { AppError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging.ts';
import {
  decodeReply,
  encodeRequest,
  messageBytes,
  ProtocolError,
  type Decoded,
  type ErrorReplyHeader,
  type OpName,
  type Ops,
  type ReplyHeader,
  type Task,
  type Tensor,
} from '../protocol/index.ts';
import {
  imagesTensor,
  imageTensor,
  labelsTensor,
  predictResult,
} from './codec.ts';
import { PendingCalls } from './pending.ts';
import type { CallOptions, ImageBatch, RgbImage, SidecarOps } from './types.ts';

export interface SidecarClientOptions {
  /** `ipc://…` or `tcp://host:port`; the sidecar binds, we connect. */
  endpoint: string;
  /** Default deadline per call, in ms. */
  callTimeoutMs: number;
  /** Largest request, all frames together, in bytes. */
  maxMessageBytes: number;
  logger?: Logger;
  /**
   * Called after a call's deadline passed (the call is already failed), with
   * the deadline that call had.
   */
  onTimeout?: (op: string, id: string, timeoutMs: number) => void;
  /** Called when the connection to the sidecar drops. */
  onDisconnect?: () => void;
}

/** A reply's result header and tensors. */
export interface CallReply<R> {
  result: R;
  tensors: Tensor[];
}

/**
 * The sidecar link: one zeromq DEALER socket, many calls in flight, each
 * matched to its reply by request id and bounded by its own deadline.
 * It neither spawns nor restarts anything; see `SidecarSupervisor`.
 */
export class SidecarClient implements SidecarOps {
  readonly endpoint: string;
  readonly #socket: Dealer;
  readonly #pending: PendingCalls;
  readonly #log: Logger;
  readonly #opts: SidecarClientOptions;
  #seq = 0;
  #sending: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: SidecarClientOptions) {
    this.#opts = opts;
    this.endpoint = opts.endpoint;
    this.#log = opts.logger ?? silentLogger();
    this.#pending = new PendingCalls(opts.onTimeout);
    // sendTimeout 0: when the sidecar stops reading and its queue is full,
    // a send fails at once instead of parking every later call behind it.
    this.#socket = new Dealer({ linger: 0, sendTimeout: 0 });
    if (opts.onDisconnect) {
      this.#socket.events.on('disconnect', () => opts.onDisconnect?.());
    }
    this.#socket.connect(opts.endpoint);
    void this.#receiveLoop();
  }

  /** Calls waiting for a reply. */
  get inFlight(): number {
    return this.#pending.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one request and waits for its reply.
   * @throws AppError `MESSAGE_TOO_LARGE` (nothing sent), `SIDECAR_TIMEOUT`,
   *   `SIDECAR_DIED`, `MODEL_UNAVAILABLE` (wire `NO_MODEL`) or
   *   `SIDECAR_ERROR` (other wire errors, code in `details.sidecarCode`).
   */
  async call<Op extends OpName>(
    op: Op,
    options: Ops[Op]['options'],
    tensors: Tensor[] = [],
    call: CallOptions = {},
  ): Promise<CallReply<Ops[Op]['result']>> {
    if (this.#closed) {
      throw new AppError('SIDECAR_DIED', 'The sidecar link is closed');
    }
    const id = `r${++this.#seq}`;
    const frames = encodeRequest(id, op, options, tensors);
    const bytes = messageBytes(frames);
    if (bytes > this.#opts.maxMessageBytes) {
      const limit = this.#opts.maxMessageBytes;
      throw new AppError('MESSAGE_TOO_LARGE', undefined, {
        details: { op, bytes, limit },
      });
    }
    const timeoutMs = call.timeoutMs ?? this.#opts.callTimeoutMs;
    const reply = this.#pending.add(id, op, timeoutMs);
    this.#send(id, frames);
    const { header, tensors: out } = await reply;
    return { result: header.result as Ops[Op]['result'], tensors: out };
  }

  /** Rejects every call in flight with `code`; returns how many. */
  failAll(code: 'SIDECAR_DIED' | 'SIDECAR_TIMEOUT', cause?: unknown): number {
    return this.#pending.failAll(code, cause);
  }

  /** Fails what is in flight with `SIDECAR_DIED` and closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.failAll('SIDECAR_DIED');
    this.#socket.close();
  }

  hello(options: Ops['hello']['options'] = {}, call?: CallOptions) {
    return this.#result('hello', options, [], call);
  }

  loadModel(options: Ops['load_model']['options'], call?: CallOptions) {
    return this.#result('load_model', options, [], call);
  }

  detect(
    image: RgbImage,
    options: Ops['detect']['options'] = {},
    call?: CallOptions,
  ) {
    return this.#result('detect', options, [imageTensor(image)], call);
  }

  async predict(images: ImageBatch, explain: Task[] = [], call?: CallOptions) {
    const options = explain.length > 0 ? { explain } : {};
    const input = [imagesTensor(images)];
    const reply = await this.call('predict', options, input, call);
    return predictResult(reply.result, reply.tensors);
  }

  configureTraining(
    options: Ops['configure_training']['options'],
    call?: CallOptions,
  ) {
    return this.#result('configure_training', options, [], call);
  }

  trainStep(
    images: ImageBatch,
    labels: Float32Array,
    options: Ops['train_step']['options'] = {},
    call?: CallOptions,
  ) {
    const input = [imagesTensor(images), labelsTensor(labels, images.n)];
    return this.#result('train_step', options, input, call);
  }

  evalStep(images: ImageBatch, call?: CallOptions) {
    return this.#result('eval_step', {}, [imagesTensor(images)], call);
  }

  save(options: Ops['save']['options'], call?: CallOptions) {
    return this.#result('save', options, [], call);
  }

  load(options: Ops['load']['options'], call?: CallOptions) {
    return this.#result('load', options, [], call);
  }

  stats(call?: CallOptions) {
    return this.#result('stats', {}, [], call);
  }

  shutdown(call?: CallOptions) {
    return this.#result('shutdown', {}, [], call);
  }

  async #result<Op extends OpName>(
    op: Op,
    options: Ops[Op]['options'],
    tensors: Tensor[],
    call?: CallOptions,
  ): Promise<Ops[Op]['result']> {
    return (await this.call(op, options, tensors, call)).result;
  }

  /** zeromq allows one blocked send at a time, so sends queue up here. */
  #send(id: string, frames: Uint8Array[]) {
    this.#sending = this.#sending.then(async () => {
      if (!this.#pending.has(id)) return; // expired before its turn
      try {
        await this.#socket.send(frames);
      } catch (err: unknown) {
        this.#pending.reject(id, sendError(err));
      }
    });
  }

  async #receiveLoop() {
    try {
      for await (const frames of this.#socket) this.#onMessage(frames);
    } catch (err: unknown) {
      if (this.#closed) return;
      this.#log.error({ err }, 'sidecar socket failed');
      this.failAll('SIDECAR_DIED', err);
    }
  }

  #onMessage(frames: Uint8Array[]) {
    let reply: Decoded<ReplyHeader>;
    try {
      reply = decodeReply(frames);
    } catch (err: unknown) {
      this.#onBadReply(err);
      return;
    }
    const { header } = reply;
    if (header.id === null || !this.#pending.has(header.id)) {
      this.#onUnmatched(header);
      return;
    }
    if (header.ok) {
      this.#pending.resolve(header.id, { header, tensors: reply.tensors });
    } else {
      const op = this.#pending.opOf(header.id) ?? '?';
      this.#pending.reject(header.id, wireError(op, header));
    }
  }

  #onUnmatched(header: ReplyHeader) {
    if (header.id === null && !header.ok) {
      const { error } = header;
      this.#log.warn({ error }, 'sidecar could not read a request');
      return;
    }
    // The caller gave up (deadline or failAll); the answer belongs to no one.
    this.#log.debug({ id: header.id, ok: header.ok }, 'late reply dropped');
  }

  #onBadReply(err: unknown) {
    const id = err instanceof ProtocolError ? err.id : null;
    const details = { sidecarCode: 'BAD_REPLY', id };
    const appErr = new AppError('SIDECAR_ERROR', 'Unreadable reply', {
      cause: err,
      details,
    });
    if (id === null || !this.#pending.reject(id, appErr)) {
      this.#log.warn({ err }, 'unreadable reply from sidecar dropped');
    }
  }
}

/** A full queue (EAGAIN) means "try later"; anything else, a dead link. */
function sendError(cause: unknown): AppError {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'EAGAIN') {
    const details = { reason: 'the sidecar link queue is full' };
    return new AppError('QUEUE_FULL', undefined, { cause, details });
  }
  return new AppError('SIDECAR_DIED', undefined, { cause });
}

/** Maps an error reply to the app's error table. */
function wireError(op: string, header: ErrorReplyHeader): AppError {
  const { code, message } = header.error;
  const details = { op, id: header.id, sidecarCode: code };
  const text = `${op}: ${code}: ${message}`;
  if (code === 'NO_MODEL') {
    return new AppError('MODEL_UNAVAILABLE', text, { details });
  }
  return new AppError('SIDECAR_ERROR', text, { details });
}
