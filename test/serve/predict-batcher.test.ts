import { describe, expect, it } from 'vitest';
import { calibrate } from '../../ts/pipeline/calibrate.ts';
import { PredictBatcher } from '../../ts/pipeline/predict-batcher.ts';
import type { Task } from '../../ts/protocol/index.ts';
import type { ImageBatch, PredictResult } from '../../ts/sidecar/index.ts';

const SIZE = 2;

/** n images whose every byte is `value`, so results can be traced back. */
function images(n: number, value: number): ImageBatch {
  return {
    data: new Uint8Array(n * SIZE * SIZE * 3).fill(value),
    n,
    size: SIZE,
  };
}

/** A fake predict: logit = first byte of each image; cam filled with it. */
function fakeRun(calls: { n: number; explain: Task[] }[], delayMs = 5) {
  return async (batch: ImageBatch, explain: Task[]): Promise<PredictResult> => {
    calls.push({ n: batch.n, explain });
    await new Promise((r) => setTimeout(r, delayMs));
    const per = SIZE * SIZE * 3;
    const first = Array.from(
      { length: batch.n },
      (_, i) => batch.data[i * per],
    );
    const result: PredictResult = {
      logits: { gender: first, smile: first.map((v) => -v) },
      explained: {},
      cams: {},
    };
    for (const task of explain) {
      result.explained[task] = {
        positive: first.map((v) => v > 0),
        flat: first.map(() => false),
      };
      const cams = new Float32Array(batch.n * SIZE * SIZE);
      first.forEach((v, i) =>
        cams.fill(v, i * SIZE * SIZE, (i + 1) * SIZE * SIZE),
      );
      result.cams[task] = cams;
    }
    return result;
  };
}

describe('PredictBatcher', () => {
  it('batches concurrent calls and gives each caller its own slice', async () => {
    const calls: { n: number; explain: Task[] }[] = [];
    const batcher = new PredictBatcher(fakeRun(calls), {
      maxSize: 16,
      waitMs: 5,
    });
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((v) =>
        batcher.predict(images(v % 3 === 0 ? 2 : 1, v), ['smile']),
      ),
    );
    expect(calls.length).toBeLessThan(8);
    results.forEach((r, k) => {
      const v = k + 1;
      const n = v % 3 === 0 ? 2 : 1;
      expect(r.logits.gender).toEqual(Array(n).fill(v));
      expect(r.cams.smile?.length).toBe(n * SIZE * SIZE);
      expect(Array.from(r.cams.smile ?? [])).toEqual(
        Array(n * SIZE * SIZE).fill(v),
      );
      expect(r.explained.smile?.positive).toEqual(Array(n).fill(true));
    });
  });

  it('with waitMs 0 sends at once when idle, and gathers calls while a batch runs', async () => {
    const calls: { n: number; explain: Task[] }[] = [];
    const batcher = new PredictBatcher(fakeRun(calls, 30), {
      maxSize: 16,
      waitMs: 0,
    });
    const first = batcher.predict(images(1, 1), []);
    // Sent before any timer could fire: nothing waits for company.
    expect(calls).toEqual([{ n: 1, explain: [] }]);
    const later = [2, 3, 4].map((v) => batcher.predict(images(1, v), []));
    const results = await Promise.all([first, ...later]);
    expect(calls.map((c) => c.n)).toEqual([1, 3]);
    expect(results.map((r) => r.logits.gender[0])).toEqual([1, 2, 3, 4]);
  });

  it('never mixes calls that ask for different explanations', async () => {
    const calls: { n: number; explain: Task[] }[] = [];
    const batcher = new PredictBatcher(fakeRun(calls), {
      maxSize: 16,
      waitMs: 5,
    });
    await Promise.all([
      batcher.predict(images(1, 1), []),
      batcher.predict(images(1, 2), ['gender']),
      batcher.predict(images(1, 3), []),
    ]);
    for (const call of calls) {
      expect([0, 1]).toContain(call.explain.length);
    }
    expect(calls.find((c) => c.explain.length === 1)?.n).toBe(1);
  });

  it('keeps batches within maxSize faces', async () => {
    const calls: { n: number; explain: Task[] }[] = [];
    const batcher = new PredictBatcher(fakeRun(calls), {
      maxSize: 4,
      waitMs: 50,
    });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.predict(images(1, i), [])),
    );
    expect(Math.max(...calls.map((c) => c.n))).toBeLessThanOrEqual(4);
    expect(calls.reduce((n, c) => n + c.n, 0)).toBe(10);
  });

  it('fails every caller of a failed batch, and goes on working', async () => {
    let fail = true;
    const batcher = new PredictBatcher(
      async (batch) => {
        if (fail) throw new Error('boom');
        return {
          logits: {
            gender: Array(batch.n).fill(0),
            smile: Array(batch.n).fill(0),
          },
          explained: {},
          cams: {},
        };
      },
      { maxSize: 8, waitMs: 2 },
    );
    const failed = await Promise.allSettled([
      batcher.predict(images(1, 1), []),
      batcher.predict(images(1, 2), []),
    ]);
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    fail = false;
    await expect(batcher.predict(images(1, 3), [])).resolves.toBeTruthy();
  });
});

describe('calibrate', () => {
  const card = {
    labels: {
      gender: ['female', 'male'],
      smile: ['not_smiling', 'smiling'],
    } as Record<Task, [string, string]>,
    thresholds: { gender: 0.5, smile: 0.7 },
    temperature: { gender: 2, smile: 1 },
  };

  it('divides by the temperature and reports the probability of the label shown', () => {
    const male = calibrate(2, 'gender', card);
    expect(male.label).toBe('male');
    expect(male.probability).toBeCloseTo(1 / (1 + Math.exp(-1)), 10);
    const female = calibrate(-2, 'gender', card);
    expect(female.label).toBe('female');
    expect(female.probability).toBeCloseTo(1 / (1 + Math.exp(-1)), 10);
  });

  it('uses the card threshold, positive at or above it', () => {
    expect(calibrate(0.5, 'smile', card).label).toBe('not_smiling');
    const logitAt07 = Math.log(0.7 / 0.3);
    expect(calibrate(logitAt07 + 1e-9, 'smile', card).label).toBe('smiling');
  });
});
