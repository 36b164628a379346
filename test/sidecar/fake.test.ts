import { describe, expect, it } from 'vitest';
import { FakeSidecar, type Sidecar } from '../../ts/sidecar/index.ts';
import { rejection } from '../fixtures/errors.ts';

const SIZE = 16;
const solid = (values: number[]) => {
  const px = SIZE * SIZE * 3;
  const data = new Uint8Array(values.length * px);
  values.forEach((v, i) => data.fill(v, i * px, (i + 1) * px));
  return { data, n: values.length, size: SIZE };
};

describe('FakeSidecar', () => {
  it('can stand wherever a Sidecar is expected', () => {
    const sidecar: Sidecar = new FakeSidecar();
    expect(sidecar.ready).toBe(true);
    expect(sidecar.card?.input_size).toBe(96);
  });

  it('derives logits from the image bytes, the same every time', async () => {
    const fake = new FakeSidecar();
    const a = await fake.predict(solid([250, 5]));
    const b = await fake.predict(solid([250, 5]));
    expect(a.logits).toEqual(b.logits);
    expect(a.logits.gender[0]).toBeGreaterThan(0);
    expect(a.logits.gender[1]).toBeLessThan(0);
  });

  it('returns a gaussian cam of N*S*S floats per explained task', async () => {
    const fake = new FakeSidecar();
    const out = await fake.predict(solid([1, 2]), ['smile']);
    const cam = out.cams.smile!;
    expect(cam).toHaveLength(2 * SIZE * SIZE);
    expect(out.cams.gender).toBeUndefined();
    const centre = cam[(SIZE / 2) * SIZE + SIZE / 2];
    expect(centre).toBeGreaterThan(0.9);
    expect(cam[0]).toBeLessThan(0.1);
    expect(out.explained.smile?.positive).toHaveLength(2);
  });

  it('reports boxes where configured', async () => {
    const box = { x: 1, y: 2, w: 3, h: 4, score: 0.9 };
    const fake = new FakeSidecar({ boxes: [box] });
    const image = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 };
    expect((await fake.detect(image)).boxes).toEqual([box]);
  });

  it('fails past the deadline with SIDECAR_TIMEOUT', async () => {
    const fake = new FakeSidecar({ delayMs: { stats: 200 } });
    const err = await rejection(fake.stats({ timeoutMs: 20 }));
    expect(err.code).toBe('SIDECAR_TIMEOUT');
  });

  it('fails calls in flight with SIDECAR_DIED when killed, and serves after revive', async () => {
    const fake = new FakeSidecar({ delayMs: 100 });
    const call = rejection(fake.hello());
    fake.kill();
    expect((await call).code).toBe('SIDECAR_DIED');
    expect((await rejection(fake.hello())).code).toBe('MODEL_UNAVAILABLE');
    fake.revive();
    expect(fake.restarts).toBe(1);
    expect((await fake.hello()).protocol).toBe(1);
  });

  it('fails the next call of an op as told', async () => {
    const fake = new FakeSidecar();
    fake.failNext('detect', 'SIDECAR_ERROR', 'INTERNAL');
    const image = { data: new Uint8Array(3), width: 1, height: 1 };
    const err = await rejection(fake.detect(image));
    expect(err.code).toBe('SIDECAR_ERROR');
    expect(err.details?.sidecarCode).toBe('INTERNAL');
    await expect(fake.detect(image)).resolves.toBeDefined();
  });

  it('refuses to predict without a model with MODEL_UNAVAILABLE', async () => {
    const fake = new FakeSidecar({ card: null });
    const err = await rejection(fake.predict(solid([1])));
    expect(err.code).toBe('MODEL_UNAVAILABLE');
  });

  it('refuses train_step before configure_training', async () => {
    const fake = new FakeSidecar();
    const labels = new Float32Array([1, NaN]);
    const err = await rejection(fake.trainStep(solid([1]), labels));
    expect(err.details?.sidecarCode).toBe('NOT_TRAINING');
    await fake.configureTraining({ lr: 0.01 });
    const step = await fake.trainStep(solid([1]), labels);
    expect(step.counts).toEqual({ gender: 1, smile: 0 });
    expect(step.losses.smile).toBeNull();
  });

  it('loads back the card it saved', async () => {
    const fake = new FakeSidecar();
    const card = { epoch: 3 };
    await fake.save({ path: '/x/model.pt', card, include_optimizer: false });
    const { card: loaded } = await fake.load({
      path: '/x/model.pt',
      include_optimizer: false,
    });
    expect(loaded.epoch).toBe(3);
  });
});
