import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '../logging.ts';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** Keys of a sidecar line that pino sets itself; `pid` is renamed. */
const OWN_KEYS = new Set(['level', 'msg', 'ts', 'time', 'hostname']);

/**
 * Re-emits a child's output through pino, line by line. JSON lines
 * (`{ts, level, logger, msg, ...}` from the sidecar) keep their level and
 * fields; anything else (a traceback, a C library's warning) is logged as a
 * plain message at `fallback` level. The last `tailSize` lines are kept for
 * error reports.
 */
export class LogRelay {
  readonly #tail: string[] = [];

  constructor(
    private readonly log: Logger,
    private readonly tailSize = 40,
  ) {}

  /** The most recent lines, oldest first. */
  get tail(): string[] {
    return [...this.#tail];
  }

  attach(stream: Readable, fallback: 'info' | 'warn'): void {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => this.#onLine(line, fallback));
  }

  #onLine(line: string, fallback: 'info' | 'warn') {
    if (line.trim() === '') return;
    this.#tail.push(line);
    if (this.#tail.length > this.tailSize) this.#tail.shift();
    const record = parseRecord(line);
    if (record === null) {
      this.log[fallback](line);
      return;
    }
    const level = LEVELS.has(String(record.level))
      ? (record.level as 'info')
      : 'info';
    const fields = Object.fromEntries(
      Object.entries(record)
        .filter(([key]) => !OWN_KEYS.has(key))
        .map(([key, value]) => [key === 'pid' ? 'sidecarPid' : key, value]),
    );
    this.log[level](fields, String(record.msg ?? ''));
  }
}

function parseRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
