import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export interface EventStream {
  write(text: string): void;
  end(): void;
  readonly closed: boolean;
}

export interface EventStreamOptions {
  heartbeatMs: number;
  /** The text of one heartbeat, in the stream's own format. */
  heartbeat: string;
  /** Called once, when the stream ends for any reason. */
  onClose: () => void;
}

/**
 * Starts a `text/event-stream` response on `reply`. Heartbeats keep proxies
 * and clients from timing out; the stream ends on `end()`, on client
 * disconnect, or when the server closes.
 */
export function openEventStream(
  reply: FastifyReply,
  options: EventStreamOptions,
): EventStream {
  const body = new PassThrough();
  let closed = false;
  const timer = setInterval(
    () => body.write(options.heartbeat),
    options.heartbeatMs,
  );
  timer.unref();
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    options.onClose();
  };
  body.on('close', close);
  // The response's 'close' (not the request's) marks a client going away.
  reply.raw.on('close', () => {
    close();
    body.destroy();
  });
  // A first heartbeat gets the headers out at once (a bare `:` comment would
  // be simpler, but Gradio's Python client rejects any line but `data:`).
  body.write(options.heartbeat);
  void reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(body);
  return {
    write(text: string) {
      if (!closed) body.write(text);
    },
    end() {
      if (closed) return;
      close();
      body.end();
    },
    get closed() {
      return closed;
    },
  };
}

/** One sse_v3 `data:` frame (the only line kind Gradio's Python client accepts). */
export function dataFrame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** One named-event frame, as the `/call/<api>/<id>` routes send them. */
export function eventFrame(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
}
