import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FacePipeline,
  OVERLAY_MAX_SIDE,
  type Stage,
  type StageObserver,
} from '../../ts/pipeline/analyze.ts';
import { PredictBatcher } from '../../ts/pipeline/predict-batcher.ts';
import { buildApp } from '../../ts/serve/app.ts';
import { DEFAULT_SERVER_SETTINGS } from '../../ts/serve/settings.ts';
import {
  FakeSidecar,
  type FakeSidecarOptions,
} from '../../ts/sidecar/index.ts';
import { solidPng } from './helpers/app.ts';

let app: FastifyInstance | null = null;
let dataDir: string | null = null;

async function serverWith(
  fakeOptions: FakeSidecarOptions = {},
  onStage?: StageObserver,
  wholeImageMaxSide = 0,
) {
  const sidecar = new FakeSidecar(fakeOptions);
  const batcher = new PredictBatcher(
    (images, explain) => sidecar.predict(images, explain),
    {
      maxSize: 16,
      waitMs: 3,
    },
  );
  const analyzer = new FacePipeline(
    sidecar,
    (i, e) => batcher.predict(i, e),
    {
      limits: { maxBytes: 20 * 2 ** 20, maxPixels: 40_000_000, minSide: 32 },
      detector: {
        maxSide: 640,
        minFaceFraction: 0.08,
        minScore: 0.5,
        wholeImageMaxSide,
      },
      overlay: { alpha: 0.5, maxSide: OVERLAY_MAX_SIDE },
    },
    onStage,
  );
  dataDir = await mkdtemp(path.join(tmpdir(), 'faceattr-fake-'));
  app = await buildApp({
    analyzer,
    sidecar,
    settings: { ...DEFAULT_SERVER_SETTINGS, dataDir },
  });
  return { app, sidecar, analyzer };
}

function post(a: FastifyInstance, body: Buffer, query = '') {
  return a.inject({
    method: 'POST',
    url: `/api/v1/analyze${query}`,
    headers: { 'content-type': 'image/png' },
    body,
  });
}

afterEach(async () => {
  await app?.close();
  app = null;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the face pipeline with the fake sidecar', () => {
  it('explains only the largest face for the Gradio endpoint, every face for REST', async () => {
    const { sidecar, analyzer } = await serverWith({
      boxes: (img) => [
        { x: 10, y: 10, w: img.width / 3, h: img.width / 3, score: 0.9 },
        {
          x: img.width / 2,
          y: 10,
          w: img.width / 5,
          h: img.width / 5,
          score: 0.8,
        },
      ],
    });
    const image = await solidPng('#a08070', 400, 300);
    const all = (
      await post(app as FastifyInstance, image, '?explain=smile')
    ).json();
    expect(all.faces).toHaveLength(2);
    for (const f of all.faces)
      expect(Object.keys(f.explanations)).toEqual(['smile']);
    const before = sidecar.calls.length;
    const largest = await analyzer.analyze(image, {
      explain: ['gender'],
      explainFaces: 'largest',
    });
    expect(Object.keys(largest.faces[0].explanations)).toEqual(['gender']);
    expect(largest.faces[1].explanations).toEqual({});
    const predicts = sidecar.calls
      .slice(before)
      .filter((c) => c.op === 'predict');
    expect(predicts.map((c) => c.options)).toEqual(
      expect.arrayContaining([{ explain: ['gender'] }, { explain: [] }]),
    );
  });

  it('reports boxes in pixels of the uploaded image when decoding shrinks it', async () => {
    await serverWith({
      boxes: (img) => [
        {
          x: img.width / 4,
          y: img.height / 4,
          w: img.width / 4,
          h: img.width / 4,
          score: 0.9,
        },
      ],
    });
    const big = await solidPng('#808080', 3000, 2000);
    const res = await post(app as FastifyInstance, big, '?explain=gender');
    expect(res.statusCode).toBe(200);
    const { faces, image } = res.json();
    expect(image).toMatchObject({ width: 3000, height: 2000 });
    const [x, y, w] = faces[0].box;
    expect(Math.abs(x - 750)).toBeLessThanOrEqual(3);
    expect(Math.abs(y - 500)).toBeLessThanOrEqual(3);
    expect(Math.abs(w - 750)).toBeLessThanOrEqual(3);
    const map = await sharp(
      Buffer.from(faces[0].explanations.gender.png.split(',')[1], 'base64'),
    ).metadata();
    expect(map.width).toBe(OVERLAY_MAX_SIDE);
  });

  it('batches concurrent requests into fewer predict calls', async () => {
    const { sidecar } = await serverWith({ delayMs: { predict: 20 } });
    const images = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((i) =>
        solidPng(`#${i}0${i}0${i}0`, 120, 120),
      ),
    );
    const results = await Promise.all(
      images.map((img) => post(app as FastifyInstance, img)),
    );
    for (const r of results) expect(r.statusCode).toBe(200);
    const predicts = sidecar.calls.filter((c) => c.op === 'predict').length;
    expect(predicts).toBeLessThan(8);
  });

  it('answers 503 SIDECAR_DIED when the model process dies mid-request, then recovers', async () => {
    const { sidecar } = await serverWith({ delayMs: { predict: 300 } });
    const image = await solidPng('#907060', 120, 120);
    const pending = post(app as FastifyInstance, image);
    // Kill while the predict is at the sidecar (not at a fixed time: a busy
    // machine may not have got that far yet).
    while (!sidecar.calls.some((c) => c.op === 'predict')) {
      await new Promise((r) => setTimeout(r, 5));
    }
    sidecar.kill();
    const res = await pending;
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('SIDECAR_DIED');
    expect(
      (await (app as FastifyInstance).inject({ url: '/readyz' })).statusCode,
    ).toBe(503);
    sidecar.revive();
    expect((await post(app as FastifyInstance, image)).statusCode).toBe(200);
    const metrics = (await (app as FastifyInstance).inject({ url: '/metrics' }))
      .body;
    expect(metrics).toContain('faceattr_sidecar_restarts 1');
  });

  it('answers 504 SIDECAR_TIMEOUT past the deadline, and the next call works', async () => {
    const { sidecar } = await serverWith({
      delayMs: { predict: 400 },
      callTimeoutMs: 100,
    });
    const image = await solidPng('#907060', 120, 120);
    const res = await post(app as FastifyInstance, image);
    expect(res.statusCode).toBe(504);
    expect(res.json().error.code).toBe('SIDECAR_TIMEOUT');
    expect(sidecar.ready).toBe(true);
  });

  it('reports the time of each pipeline step, and no crop or predict without a face', async () => {
    const seen: [Stage, number][] = [];
    const { analyzer } = await serverWith(
      { delayMs: { predict: 30 } },
      (stage, seconds) => seen.push([stage, seconds]),
    );
    const image = await solidPng('#a08070', 200, 200);
    await analyzer.analyze(image, { explain: ['gender'], explainFaces: 'all' });
    expect(seen.map(([s]) => s)).toEqual([
      'decode',
      'detect',
      'crop',
      'predict',
      'render',
    ]);
    for (const [, seconds] of seen) expect(seconds).toBeGreaterThanOrEqual(0);
    // The fake's predict takes 30 ms: the predict step measured at least that.
    expect(seen[3][1]).toBeGreaterThanOrEqual(0.025);
    await app?.close();
    seen.length = 0;
    const { analyzer: noFaces } = await serverWith(
      { boxes: () => [] },
      (s, t) => seen.push([s, t]),
    );
    await noFaces.analyze(image, { explain: [], explainFaces: 'all' });
    expect(seen.map(([s]) => s)).toEqual(['decode', 'detect']);
  });

  it('takes a small image without a detected face whole, as a face crop, unless it is blank or large', async () => {
    await serverWith({ boxes: () => [] }, undefined, 256);
    const server = app as FastifyInstance;
    const textured = (w: number, h: number) =>
      sharp({
        create: {
          width: w,
          height: h,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 40 },
        },
      })
        .png()
        .toBuffer();
    const crop = (await post(server, await textured(89, 109))).json();
    expect(crop.faces).toHaveLength(1);
    expect(crop.faces[0]).toMatchObject({
      box: [0, 10, 89, 89],
      score: 0,
      whole_image: true,
    });
    const blank = await post(server, await solidPng('#808080', 89, 109));
    expect(blank.json().faces).toEqual([]);
    const large = await post(server, await textured(300, 260));
    expect(large.json().faces).toEqual([]);
  });

  it('answers 503 MODEL_UNAVAILABLE and /readyz 503 when no model is loaded', async () => {
    await serverWith({ card: null });
    const res = await post(
      app as FastifyInstance,
      await solidPng('#907060', 120, 120),
    );
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('MODEL_UNAVAILABLE');
    const ready = await (app as FastifyInstance).inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reason).toMatch(/no model/);
  });

  it('closes the sidecar and open event streams when the server closes', async () => {
    const { sidecar } = await serverWith({ delayMs: { predict: 10_000 } });
    const server = app as FastifyInstance;
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as { port: number };
    const stream = fetch(`http://127.0.0.1:${port}/gradio_api/heartbeat/abc`);
    const res = await stream;
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const started = performance.now();
    await server.close();
    app = null;
    expect(performance.now() - started).toBeLessThan(3000);
    expect(sidecar.ready).toBe(false);
  });
});
