import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.ts';
import {
  CLOSE_STREAM,
  completedError,
  completedOk,
  estimation,
  logMessage,
  processStarts,
  serverStopped,
  type QueueMessage,
} from './messages.ts';

/** Where a session's messages go while a client stream is open. */
export interface Sink {
  send(messages: readonly QueueMessage[]): void;
  end(): void;
}

export interface JobContext {
  eventId: string;
  signal: AbortSignal;
  /** Sends a Gradio `log` message (gr.Info / gr.Warning) to the caller. */
  log(text: string, level?: 'info' | 'warning'): void;
}

/** Runs one event; resolves to the output values or throws. */
export type Job = (ctx: JobContext) => Promise<unknown[]>;

/** Turns a job failure into the message shown to the caller. */
export type ErrorMessage = (err: unknown, eventId: string) => string;

export interface QueueOptions {
  /** Most events waiting or running at once. */
  maxSize: number;
  /** Most events running at once. */
  concurrency: number;
  /** An idle session (no pending events, no stream) lives this long. */
  sessionTtlMs: number;
  maxSessions: number;
  /** Messages kept per session while no stream is open. */
  maxBuffered: number;
  errorMessage: ErrorMessage;
}

interface Event {
  id: string;
  session: Session;
  job: Job;
  abort: AbortController;
}

class Session {
  readonly pending = new Set<string>();
  buffer: QueueMessage[] = [];
  sink: Sink | null = null;
  touched = Date.now();
  constructor(readonly hash: string) {}
}

/** A random 128-bit event id, as hex. */
export function newEventId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Gradio's event queue: events join per session, run with bounded
 * concurrency, and report over the session's one stream. A stream is told
 * `close_stream` once its session has nothing pending (clients hang
 * without it). Sessions are isolated: a stream only carries its own.
 */
export class EventQueue {
  private readonly sessions = new Map<string, Session>();
  private readonly waiting: Event[] = [];
  private readonly running = new Map<string, Event>();
  private readonly sweeper: NodeJS.Timeout;
  private durations = { total: 0, count: 0 };
  private stopped = false;

  constructor(private readonly options: QueueOptions) {
    const every = Math.max(1000, Math.min(options.sessionTtlMs / 2, 60_000));
    this.sweeper = setInterval(() => this.sweepSessions(), every);
    this.sweeper.unref();
  }

  /** Events waiting or running. */
  depth(): number {
    return this.waiting.length + this.running.size;
  }

  /**
   * Queues a job. `sessionHash` null makes the event its own session (the
   * `/call/<api>` routes). Throws QUEUE_FULL when full or stopped.
   */
  join(sessionHash: string | null, job: Job): string {
    if (this.stopped || this.depth() >= this.options.maxSize) {
      throw new AppError('QUEUE_FULL');
    }
    const id = newEventId();
    const session = this.session(sessionHash ?? id);
    const event = { id, session, job, abort: new AbortController() };
    session.pending.add(id);
    this.waiting.push(event);
    const rank = this.waiting.length - 1;
    this.deliver(session, [
      estimation(id, rank, this.waiting.length, this.rankEta(rank)),
    ]);
    setImmediate(() => this.pump());
    return id;
  }

  /** True when the session exists (it has pending or buffered messages). */
  has(sessionHash: string): boolean {
    return this.sessions.has(sessionHash);
  }

  /** True when the session has nothing left to say: all of it was read. */
  drained(sessionHash: string): boolean {
    const session = this.sessions.get(sessionHash);
    return (
      session !== undefined &&
      session.pending.size === 0 &&
      session.buffer.length === 0
    );
  }

  /**
   * Connects a stream to a session: flushes what was buffered, then closes
   * at once if nothing is pending. Returns false for an unknown session.
   */
  attach(sessionHash: string, sink: Sink): boolean {
    const session = this.sessions.get(sessionHash);
    if (!session) return false;
    session.sink?.end();
    session.sink = sink;
    session.touched = Date.now();
    const buffered = session.buffer;
    session.buffer = [];
    this.send(session, buffered);
    return true;
  }

  detach(sessionHash: string, sink: Sink): void {
    const session = this.sessions.get(sessionHash);
    if (session?.sink !== sink) return;
    session.sink = null;
    session.touched = Date.now();
  }

  /**
   * Cancels a waiting event of `sessionHash` (it completes with an error) or
   * aborts a running one. Other sessions' events are left alone.
   */
  cancel(eventId: string, sessionHash: string): boolean {
    const mine = (e: Event) =>
      e.id === eventId && e.session.hash === sessionHash;
    const index = this.waiting.findIndex(mine);
    if (index >= 0) {
      const [event] = this.waiting.splice(index, 1);
      this.finish(event, completedError(event.id, 'Cancelled'));
      return true;
    }
    const running = this.running.get(eventId);
    if (!running || !mine(running)) return false;
    running.abort.abort();
    return true;
  }

  /** Stops accepting work; waiting events fail; open streams end. */
  close(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const event of this.waiting.splice(0)) event.abort.abort();
    for (const event of this.running.values()) event.abort.abort();
    for (const session of this.sessions.values()) {
      if (session.sink) {
        session.sink.send([serverStopped()]);
        session.sink.end();
      }
    }
    this.sessions.clear();
  }

  private session(hash: string): Session {
    let session = this.sessions.get(hash);
    if (!session) {
      if (this.sessions.size >= this.options.maxSessions) this.evictIdle();
      session = new Session(hash);
      this.sessions.set(hash, session);
    }
    session.touched = Date.now();
    return session;
  }

  private pump(): void {
    while (
      !this.stopped &&
      this.running.size < this.options.concurrency &&
      this.waiting.length > 0
    ) {
      const event = this.waiting.shift() as Event;
      this.running.set(event.id, event);
      void this.run(event);
    }
  }

  private async run(event: Event): Promise<void> {
    const started = performance.now();
    this.deliver(event.session, [processStarts(event.id, this.average())]);
    let message: QueueMessage;
    try {
      const data = await event.job({
        eventId: event.id,
        signal: event.abort.signal,
        log: (text, level = 'info') =>
          this.deliver(event.session, [logMessage(event.id, text, level)]),
      });
      const seconds = (performance.now() - started) / 1000;
      this.durations.total += seconds;
      this.durations.count += 1;
      message = completedOk(event.id, data, seconds, this.average() ?? seconds);
    } catch (err: unknown) {
      message = completedError(
        event.id,
        this.options.errorMessage(err, event.id),
      );
    }
    this.running.delete(event.id);
    this.finish(event, message);
    this.pump();
  }

  private finish(event: Event, completion: QueueMessage): void {
    event.session.pending.delete(event.id);
    this.deliver(event.session, [completion]);
  }

  private deliver(session: Session, messages: QueueMessage[]): void {
    if (this.stopped) return;
    if (session.sink) {
      this.send(session, messages);
      return;
    }
    session.buffer.push(...messages);
    const excess = session.buffer.length - this.options.maxBuffered;
    if (excess > 0) session.buffer.splice(0, excess);
  }

  /**
   * Writes to the open stream; once nothing is pending, `close_stream` goes
   * out in the same write as the last result, so a client never sees the
   * stream end between the two.
   */
  private send(session: Session, messages: QueueMessage[]): void {
    const sink = session.sink as Sink;
    if (session.pending.size > 0) {
      sink.send(messages);
      return;
    }
    sink.send([...messages, CLOSE_STREAM]);
    session.sink = null;
    sink.end();
  }

  private average(): number | null {
    const { total, count } = this.durations;
    return count === 0 ? null : total / count;
  }

  private rankEta(rank: number): number | null {
    const avg = this.average();
    if (avg === null) return null;
    return ((rank + 1) * avg) / Math.max(1, this.options.concurrency);
  }

  private evictIdle(): void {
    let oldest: Session | null = null;
    for (const s of this.sessions.values()) {
      if (s.pending.size > 0 || s.sink) continue;
      if (!oldest || s.touched < oldest.touched) oldest = s;
    }
    if (!oldest) throw new AppError('QUEUE_FULL');
    this.sessions.delete(oldest.hash);
  }

  private sweepSessions(now = Date.now()): void {
    for (const [hash, s] of this.sessions) {
      const idle = s.pending.size === 0 && !s.sink;
      if (idle && now - s.touched > this.options.sessionTtlMs) {
        this.sessions.delete(hash);
      }
    }
  }
}
