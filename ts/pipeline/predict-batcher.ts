import type { Task } from '../protocol/index.ts';
import type { ImageBatch, PredictResult } from '../sidecar/index.ts';

/** One predict call to the model process. */
export type PredictFn = (
  images: ImageBatch,
  explain: Task[],
) => Promise<PredictResult>;

export interface BatcherOptions {
  /** Most faces in one call (`sidecar.batchMaxSize`). */
  maxSize: number;
  /** Longest a face waits for company before its batch goes (`batchWaitMs`). */
  waitMs: number;
  /** Calls in flight at once; more queue here and batch up meanwhile. */
  maxInFlight?: number;
  /** Called after each batch, for metrics. */
  onBatch?: (info: { faces: number; seconds: number; explain: string }) => void;
}

interface Item {
  images: ImageBatch;
  explain: Task[];
  since: number;
  resolve: (r: PredictResult) => void;
  reject: (e: unknown) => void;
}

/** Cuts images `[from, from + n)` out of a batch result. */
function slice(
  r: PredictResult,
  from: number,
  n: number,
  size: number,
): PredictResult {
  const pick = <T>(a: T[]) => a.slice(from, from + n);
  const out: PredictResult = {
    logits: { gender: pick(r.logits.gender), smile: pick(r.logits.smile) },
    explained: {},
    cams: {},
  };
  for (const [task, e] of Object.entries(r.explained) as [
    Task,
    NonNullable<PredictResult['explained'][Task]>,
  ][]) {
    out.explained[task] = { positive: pick(e.positive), flat: pick(e.flat) };
  }
  const per = size * size;
  for (const [task, cams] of Object.entries(r.cams) as [Task, Float32Array][]) {
    out.cams[task] = cams.slice(from * per, (from + n) * per);
  }
  return out;
}

/**
 * A micro-batcher in front of the sidecar's predict: calls asking for the
 * same explanations and arriving close together go as one batch, so many
 * concurrent requests cost about one forward pass each batch, not each
 * request. While a batch runs, the next one gathers.
 */
export class PredictBatcher {
  private readonly groups = new Map<string, Item[]>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly maxInFlight: number;

  constructor(
    private readonly run: PredictFn,
    private readonly options: BatcherOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  predict(images: ImageBatch, explain: Task[]): Promise<PredictResult> {
    const key = [...explain].sort().join(',');
    return new Promise((resolve, reject) => {
      const group = this.groups.get(key) ?? [];
      group.push({ images, explain, since: Date.now(), resolve, reject });
      this.groups.set(key, group);
      this.schedule();
    });
  }

  /** Faces waiting for a batch. */
  waiting(): number {
    let n = 0;
    for (const g of this.groups.values()) {
      for (const item of g) n += item.images.n;
    }
    return n;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.inFlight < this.maxInFlight) {
      const key = this.readyGroup(Date.now());
      if (key === null) break;
      void this.flush(key);
    }
    const next = this.nextDeadline();
    if (next !== null && this.inFlight < this.maxInFlight) {
      this.timer = setTimeout(() => this.schedule(), next - Date.now());
    }
  }

  private readyGroup(now: number): string | null {
    for (const [key, items] of this.groups) {
      const faces = items.reduce((n, i) => n + i.images.n, 0);
      if (faces >= this.options.maxSize) return key;
      if (now - items[0].since >= this.options.waitMs) return key;
    }
    return null;
  }

  private nextDeadline(): number | null {
    let next: number | null = null;
    for (const items of this.groups.values()) {
      const due = items[0].since + this.options.waitMs;
      next = next === null ? due : Math.min(next, due);
    }
    return next;
  }

  private take(key: string): Item[] {
    const items = this.groups.get(key) as Item[];
    const batch: Item[] = [];
    let faces = 0;
    while (items.length > 0) {
      const n = items[0].images.n;
      if (batch.length > 0 && faces + n > this.options.maxSize) break;
      batch.push(items.shift() as Item);
      faces += n;
    }
    if (items.length === 0) this.groups.delete(key);
    return batch;
  }

  private async flush(key: string): Promise<void> {
    const batch = this.take(key);
    const size = batch[0].images.size;
    const n = batch.reduce((sum, i) => sum + i.images.n, 0);
    const data = new Uint8Array(n * size * size * 3);
    let at = 0;
    for (const item of batch) {
      data.set(item.images.data, at);
      at += item.images.data.length;
    }
    this.inFlight += 1;
    const started = performance.now();
    try {
      const result = await this.run({ data, n, size }, batch[0].explain);
      const seconds = (performance.now() - started) / 1000;
      this.options.onBatch?.({ faces: n, seconds, explain: key || 'none' });
      let from = 0;
      for (const item of batch) {
        item.resolve(slice(result, from, item.images.n, size));
        from += item.images.n;
      }
    } catch (err: unknown) {
      for (const item of batch) item.reject(err);
    } finally {
      this.inFlight -= 1;
      this.schedule();
    }
  }
}
