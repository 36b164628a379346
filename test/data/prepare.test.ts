import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadPrepared } from '../../ts/data/cache.ts';
import {
  cacheDirFor,
  prepareDataset,
  type PrepareOptions,
} from '../../ts/data/prepare.ts';
import { detectorLabel } from '../../ts/cli/data-options.ts';
import { DEFAULTS } from '../../ts/config/defaults.ts';
import type { FaceDetector } from '../../ts/pipeline/faces.ts';
import { Combined, batchesOf } from '../../ts/train/dataset.ts';

/** Finds one "face" in the middle third of any image. */
const centreDetector: FaceDetector = {
  async detect(image) {
    return {
      boxes: [
        {
          x: image.width / 3,
          y: image.height / 3,
          w: image.width / 3,
          h: image.height / 3,
          score: 0.9,
        },
      ],
      padded: false,
    };
  },
};

const OPTS: PrepareOptions = {
  size: 16,
  faces: { maxSide: 640, minFaceFraction: 0.1, minScore: 0.5, margin: 0.25 },
  detector: 'test',
  limits: { maxBytes: 1e6, maxPixels: 1e6, minSide: 8 },
  seed: 1,
  fractions: { val: 0.25, test: 0.25 },
  groupColumn: 'identity',
  chunkSize: 4,
  concurrency: 2,
};

async function makeDataset(n: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'prep-'));
  await mkdir(path.join(dir, 'images'));
  const rows = ['file,male,smiling'];
  const meta = ['file,identity'];
  for (let i = 0; i < n; i++) {
    const file = `img${i}.png`;
    const grey = 20 + i * 10;
    await sharp({
      create: {
        width: 48,
        height: 60,
        channels: 3,
        background: { r: grey, g: grey, b: grey },
      },
    })
      .png()
      .toFile(path.join(dir, 'images', file));
    rows.push(`${file},${i % 2},${i % 3 === 0 ? '' : i % 2}`);
    meta.push(`${file},${Math.floor(i / 2)}`);
  }
  // One file that is not an image at all.
  await writeFile(path.join(dir, 'images', 'broken.png'), 'not a png');
  rows.push('broken.png,1,1');
  await writeFile(path.join(dir, 'labels.csv'), rows.join('\n'));
  await writeFile(path.join(dir, 'meta.csv'), meta.join('\n'));
  return dir;
}

describe('prepareDataset', () => {
  it('caches every decodable image, skips a corrupt one, and keeps people in one split', async () => {
    const source = await makeDataset(10);
    const out = path.join(source, 'cache');
    const skipped: string[] = [];
    const manifest = await prepareDataset(source, out, centreDetector, {
      ...OPTS,
      onSkip: (file) => skipped.push(file),
    });
    expect(manifest.count).toBe(10);
    expect(skipped).toEqual(['broken.png']);
    const set = await loadPrepared(out);
    expect(set.pixels.length).toBe(10 * 16 * 16 * 3);
    // The third image is grey 40 all over: its crop must be too.
    expect(set.pixels[2 * 16 * 16 * 3 + 100]).toBe(40);
    expect(set.records[3].smiling).toBeNull();
    for (let i = 0; i < 10; i += 2) {
      expect(set.records[i].split).toBe(set.records[i + 1].split);
    }
  });

  it('resumes without redoing finished chunks', async () => {
    const source = await makeDataset(6);
    const out = path.join(source, 'cache');
    await prepareDataset(source, out, centreDetector, OPTS);
    let calls = 0;
    const counting: FaceDetector = {
      detect: (img, o) => {
        calls++;
        return centreDetector.detect(img, o);
      },
    };
    const again = await prepareDataset(source, out, counting, OPTS);
    expect(calls).toBe(0);
    expect(again.count).toBe(6);
  });

  it('gives NaN labels for unknowns and drops a short last batch', async () => {
    const source = await makeDataset(6);
    const out = path.join(source, 'cache');
    await prepareDataset(source, out, centreDetector, OPTS);
    const data = new Combined([await loadPrepared(out)]);
    const all = [
      ...data.items('train'),
      ...data.items('val'),
      ...data.items('test'),
    ];
    const labels = data.labels(all);
    const unknown = all.findIndex((it) => data.record(it).smiling === null);
    expect(Number.isNaN(labels[unknown * 2 + 1])).toBe(true);
    expect(batchesOf(all, 4).map((b) => b.length)).toEqual([4]);
  });
});

describe('cacheDirFor', () => {
  it('gives a new folder when the face search or the detector settings change', () => {
    const dir = (o: PrepareOptions) => cacheDirFor('/c', '/data/celeba', o);
    const base = dir(OPTS);
    expect(base).toMatch(/^\/c\/celeba-16-[0-9a-f]{8}$/);
    expect(dir({ ...OPTS })).toBe(base);
    const faces = { ...OPTS.faces, minFaceFraction: 0.12 };
    expect(dir({ ...OPTS, faces })).not.toBe(base);
    expect(dir({ ...OPTS, detector: 'other' })).not.toBe(base);
    expect(dir({ ...OPTS, size: 32 })).not.toBe(base);
  });

  it('labels the Haar detector with its search steps', () => {
    const haar = DEFAULTS.detector;
    expect(detectorLabel(haar)).toBe(
      'haar (scale 1.1, coarse 1.3, plain-grey retry)',
    );
    expect(detectorLabel({ ...haar, coarseScaleFactor: null })).toBe(
      'haar (scale 1.1, one step, plain-grey retry)',
    );
    expect(detectorLabel({ ...haar, kind: 'res10' })).toBe('res10');
  });
});
