/**
 * The sidecar-link behaviour every backend must show, run once over the fake
 * sidecar process and once over the real Python sidecar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import {
  decodeReply,
  encodeRequest,
  uint8Tensor,
} from '../../ts/protocol/index.ts';
import type {
  CallOptions,
  ImageBatch,
  SidecarSupervisor,
} from '../../ts/sidecar/index.ts';
import { rejection } from '../fixtures/errors.ts';

export interface LinkBackend {
  /** Starts a supervisor whose sidecar serves a model of input `size`. */
  start(): Promise<SidecarSupervisor>;
  size: number;
  /** A call that takes a while (≥ 100 ms) on this backend. */
  slow(sc: SidecarSupervisor, call?: CallOptions): Promise<unknown>;
}

/** Deterministic noise images: `n` crops of `size`, seeded. */
export function noise(seed: number, n: number, size: number): ImageBatch {
  let s = seed * 7919 + 1;
  const data = new Uint8Array(n * size * size * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s % 256;
  }
  return { data, n, size };
}

const text = (s: string) => new TextEncoder().encode(s);

export function describeLink(name: string, backend: LinkBackend) {
  describe(`the sidecar link over ${name}`, () => {
    let sc: SidecarSupervisor;
    const size = backend.size;

    beforeAll(async () => {
      sc = await backend.start();
    });

    afterAll(async () => {
      await sc?.close();
    });

    it('gives each of 100 concurrent calls its own answer', async () => {
      // Four ops with replies of different shapes, and predict batches of
      // different sizes: a reply given to the wrong caller cannot pass.
      const batch = (i: number) => noise(i, 1 + ((i >> 2) % 4), size);
      const image = (i: number) => ({
        data: new Uint8Array((40 + i) * 50 * 3),
        width: 50,
        height: 40 + i,
      });
      const call = (i: number): Promise<unknown> =>
        [
          () => sc.predict(batch(i)),
          () => sc.hello(),
          () => sc.stats(),
          () => sc.detect(image(i)),
        ][i % 4]();
      const ids = [...Array(100).keys()];
      const answers = (await Promise.all(ids.map(call))) as Record<
        string,
        unknown
      >[];
      for (const i of ids) {
        const answer = answers[i];
        if (i % 4 === 0) {
          const logits = answer.logits as { gender: number[] };
          expect(logits.gender).toHaveLength(batch(i).n);
        }
        if (i % 4 === 1) expect(answer.protocol).toBe(1);
        if (i % 4 === 2) expect(answer).toHaveProperty('rss_bytes');
        if (i % 4 === 3) expect(answer).toHaveProperty('padded');
      }
      for (const i of [4, 36, 96]) {
        const alone = await sc.predict(batch(i));
        expect(answers[i].logits).toEqual(alone.logits);
      }
    });

    it('fails a call past its deadline with SIDECAR_TIMEOUT, and the next call works', async () => {
      const err = await rejection(backend.slow(sc, { timeoutMs: 1 }));
      expect(err.code).toBe('SIDECAR_TIMEOUT');
      // The late reply to the slow call must not answer this one.
      const next = await sc.predict(noise(7, 2, size));
      expect(next.logits.smile).toHaveLength(2);
      expect(sc.ready).toBe(true);
    });

    it('answers malformed frames with error replies and keeps serving', async () => {
      const raw = new Dealer({ linger: 0, receiveTimeout: 10_000 });
      raw.connect(sc.endpoint!);
      const ask = async (frames: Uint8Array[]) => {
        await raw.send(frames);
        return decodeReply(await raw.receive()).header;
      };
      const notJson = await ask([text('not json')]);
      expect(notJson).toMatchObject({ id: null, ok: false });
      expect(!notJson.ok && notJson.error.code).toBe('BAD_HEADER');

      const short = encodeRequest('m2', 'detect', {}, [
        uint8Tensor('image', new Uint8Array(12), [2, 2, 3]),
      ]);
      const badTensor = await ask([short[0], new Uint8Array(5)]);
      expect(badTensor).toMatchObject({ id: 'm2', ok: false });
      expect(!badTensor.ok && badTensor.error.code).toBe('BAD_TENSOR');

      const unknown = await ask(encodeRequest('m3', 'teleport', {}));
      expect(!unknown.ok && unknown.error.code).toBe('UNKNOWN_OP');
      raw.close();

      expect((await sc.hello()).protocol).toBe(1);
    });

    it('fails calls in flight with SIDECAR_DIED when the process dies, then restarts', async () => {
      const before = sc.restarts;
      const inFlight = [1, 2, 3].map(() => rejection(backend.slow(sc)));
      await new Promise((r) => setTimeout(r, 20));
      const readyAgain = new Promise((r) => sc.once('ready', r));
      const killedAt = Date.now();
      process.kill(sc.pid!, 'SIGKILL');
      const errors = await Promise.all(inFlight);
      expect(errors.map((e) => e.code)).toEqual([
        'SIDECAR_DIED',
        'SIDECAR_DIED',
        'SIDECAR_DIED',
      ]);
      expect(Date.now() - killedAt).toBeLessThan(1000);
      expect((await rejection(sc.stats())).code).toBe('MODEL_UNAVAILABLE');

      await readyAgain;
      expect(sc.restarts).toBe(before + 1);
      expect((await sc.stats()).served).toBeGreaterThanOrEqual(0);
    });
  });
}
