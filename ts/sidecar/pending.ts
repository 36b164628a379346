import { AppError, type ErrorCode } from '../errors.ts';
import type { Decoded, OkReplyHeader } from '../protocol/index.ts';

interface Entry {
  op: string;
  timer: NodeJS.Timeout;
  resolve: (reply: Decoded<OkReplyHeader>) => void;
  reject: (err: AppError) => void;
}

/**
 * Calls in flight, by request id. Each entry settles exactly once: by its
 * reply, its deadline, or {@link PendingCalls.failAll}. After that its id is
 * forgotten, so a late reply finds nothing and can answer no one else.
 */
export class PendingCalls {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly onTimeout: (
      op: string,
      id: string,
      timeoutMs: number,
    ) => void = () => {},
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Registers `id` and starts its deadline. */
  add(id: string, op: string, timeoutMs: number) {
    return new Promise<Decoded<OkReplyHeader>>((resolve, reject) => {
      const timer = setTimeout(() => this.#expire(id, timeoutMs), timeoutMs);
      this.#entries.set(id, { op, timer, resolve, reject });
    });
  }

  /** Settles `id` with its reply; false when no call waits for it. */
  resolve(id: string, reply: Decoded<OkReplyHeader>): boolean {
    const entry = this.#take(id);
    entry?.resolve(reply);
    return entry !== undefined;
  }

  /** Fails `id`; false when no call waits for it. */
  reject(id: string, err: AppError): boolean {
    const entry = this.#take(id);
    entry?.reject(err);
    return entry !== undefined;
  }

  /** The op a pending id was sent with. */
  opOf(id: string): string | undefined {
    return this.#entries.get(id)?.op;
  }

  /** Fails every pending call at once with `code`; returns how many. */
  failAll(code: ErrorCode, cause?: unknown): number {
    const ids = [...this.#entries.keys()];
    for (const id of ids) {
      const op = this.#entries.get(id)?.op;
      this.reject(
        id,
        new AppError(code, undefined, { cause, details: { op, id } }),
      );
    }
    return ids.length;
  }

  #take(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    this.#entries.delete(id);
    return entry;
  }

  #expire(id: string, timeoutMs: number) {
    const op = this.#entries.get(id)?.op ?? '?';
    const details = { op, id, timeoutMs };
    if (
      this.reject(id, new AppError('SIDECAR_TIMEOUT', undefined, { details }))
    ) {
      this.onTimeout(op, id, timeoutMs);
    }
  }
}
