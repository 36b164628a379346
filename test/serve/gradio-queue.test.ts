import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../ts/errors.ts';
import type { QueueMessage } from '../../ts/serve/gradio/messages.ts';
import { EventQueue, type Sink } from '../../ts/serve/gradio/queue.ts';

function queue(
  over: Partial<ConstructorParameters<typeof EventQueue>[0]> = {},
) {
  return new EventQueue({
    maxSize: 8,
    concurrency: 2,
    sessionTtlMs: 60_000,
    maxSessions: 100,
    maxBuffered: 64,
    errorMessage: (err) => (err instanceof Error ? err.message : String(err)),
    ...over,
  });
}

/** A sink that records what it gets and resolves when the stream ends. */
function recorder() {
  const messages: QueueMessage[] = [];
  let resolve: () => void = () => {};
  const ended = new Promise<void>((r) => (resolve = r));
  const sink: Sink = { send: (m) => messages.push(...m), end: () => resolve() };
  return { sink, messages, ended };
}

const msgs = (m: QueueMessage[]) => m.map((x) => x.msg);

describe('EventQueue', () => {
  it('sends estimation, starts, the result, then close_stream, and ends', async () => {
    const q = queue();
    const id = q.join('s1', async () => ['ok']);
    const r = recorder();
    expect(q.attach('s1', r.sink)).toBe(true);
    await r.ended;
    expect(msgs(r.messages)).toEqual([
      'estimation',
      'process_starts',
      'process_completed',
      'close_stream',
    ]);
    const done = r.messages[2];
    expect(done.event_id).toBe(id);
    expect(done.success).toBe(true);
    expect((done.output as { data: unknown[] }).data).toEqual(['ok']);
    q.close();
  });

  it('buffers messages that arrive before the stream opens', async () => {
    const q = queue();
    q.join('early', async () => [1]);
    await new Promise((r) => setTimeout(r, 20));
    const r = recorder();
    q.attach('early', r.sink);
    await r.ended;
    expect(msgs(r.messages)).toContain('process_completed');
    expect(r.messages.at(-1)?.msg).toBe('close_stream');
    q.close();
  });

  it('keeps the stream open until every event of the session is done', async () => {
    const q = queue();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    q.join('s', async () => ['fast']);
    q.join('s', async () => {
      await gate;
      return ['slow'];
    });
    const r = recorder();
    q.attach('s', r.sink);
    await new Promise((res) => setTimeout(res, 20));
    expect(msgs(r.messages)).not.toContain('close_stream');
    release();
    await r.ended;
    const completed = r.messages.filter((m) => m.msg === 'process_completed');
    expect(completed).toHaveLength(2);
    q.close();
  });

  it("never sends one session's events to another session's stream", async () => {
    const q = queue();
    const a = q.join('a', async () => ['A']);
    const b = q.join('b', async () => ['B']);
    const ra = recorder();
    const rb = recorder();
    q.attach('a', ra.sink);
    q.attach('b', rb.sink);
    await Promise.all([ra.ended, rb.ended]);
    const ids = (r: ReturnType<typeof recorder>) =>
      new Set(r.messages.map((m) => m.event_id).filter(Boolean));
    expect(ids(ra)).toEqual(new Set([a]));
    expect(ids(rb)).toEqual(new Set([b]));
    q.close();
  });

  it('reports a failure as process_completed with success false', async () => {
    const q = queue();
    q.join('f', async () => {
      throw new AppError('NO_FACE');
    });
    const r = recorder();
    q.attach('f', r.sink);
    await r.ended;
    const done = r.messages.find((m) => m.msg === 'process_completed');
    expect(done?.success).toBe(false);
    expect((done?.output as { error: string }).error).toMatch(/No face/);
    q.close();
  });

  it('refuses work beyond its size with QUEUE_FULL', () => {
    const q = queue({ maxSize: 2, concurrency: 1 });
    const never = () => new Promise<unknown[]>(() => {});
    q.join('x', never);
    q.join('x', never);
    expect(() => q.join('x', never)).toThrow(
      expect.objectContaining({ code: 'QUEUE_FULL' }),
    );
    q.close();
  });

  it('uses random 128-bit event ids', () => {
    const q = queue({ maxSize: 100 });
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) ids.add(q.join(`s${i}`, async () => []));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    q.close();
  });

  it('cancels a waiting event only for its own session', async () => {
    const q = queue({ concurrency: 1 });
    const never = () => new Promise<unknown[]>(() => {});
    q.join('c', never);
    const waiting = q.join('c', async () => ['late']);
    expect(q.cancel(waiting, 'someone-else')).toBe(false);
    expect(q.cancel(waiting, 'c')).toBe(true);
    q.close();
  });

  it('bounds what it buffers for a session that never connects', async () => {
    const q = queue({ maxBuffered: 5, maxSize: 50 });
    for (let i = 0; i < 10; i++) q.join('idle', async () => [i]);
    await new Promise((r) => setTimeout(r, 30));
    const r = recorder();
    q.attach('idle', r.sink);
    await r.ended;
    expect(r.messages.length).toBeLessThanOrEqual(6);
    q.close();
  });

  it('does not know a session nobody joined', () => {
    const q = queue();
    expect(q.attach('ghost', recorder().sink)).toBe(false);
    q.close();
  });

  describe('expiry', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('drops a session that never connects once its TTL has passed', async () => {
      vi.useFakeTimers();
      const q = queue({ sessionTtlMs: 10_000 });
      q.join('ghost', async () => ['done']);
      await vi.advanceTimersByTimeAsync(1000);
      expect(q.has('ghost')).toBe(true);
      await vi.advanceTimersByTimeAsync(15_000);
      expect(q.has('ghost')).toBe(false);
      q.close();
    });

    it('keeps a session while an event of it is still running', async () => {
      vi.useFakeTimers();
      const q = queue({ sessionTtlMs: 10_000 });
      q.join('busy', () => new Promise<unknown[]>(() => {}));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(q.has('busy')).toBe(true);
      q.close();
    });
  });
});
