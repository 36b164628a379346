import sharp from 'sharp';
import type { DecodedImage } from '../images/decode.ts';
import { renderOverlay } from '../images/overlay.ts';
import { sigmoid } from '../metrics/index.ts';
import type { Combined, Item } from './dataset.ts';
import type { TrainEngine } from './engine.ts';
import {
  CLASS_NAMES,
  TASKS,
  labelsOf,
  type Calibration,
  type Logits,
} from './evaluate.ts';
import type { GalleryItem } from './report-input.ts';

const SHOWN_SIZE = 192;

/**
 * Grad-CAM examples for the report: per task, the first `perKind` right and
 * `perKind` wrong predictions of a split, each explained for its predicted
 * class and drawn over its face crop.
 */
export async function buildGallery(
  engine: TrainEngine,
  data: Combined,
  split: 'val' | 'test',
  items: Item[],
  logits: Logits,
  cal: Calibration,
  perKind: number,
): Promise<GalleryItem[]> {
  const out: GalleryItem[] = [];
  for (const task of TASKS) {
    const labels = labelsOf(data, items, task);
    const picked: { i: number; correct: boolean }[] = [];
    const taken = { right: 0, wrong: 0 };
    labels.forEach((label, i) => {
      if (label === null) return;
      const p = sigmoid(logits[task][i] / cal.temperature[task]);
      const correct = (p >= cal.thresholds[task] ? 1 : 0) === label;
      const kind = correct ? 'right' : 'wrong';
      if (taken[kind] >= perKind) return;
      taken[kind]++;
      picked.push({ i, correct });
    });
    if (picked.length === 0) continue;
    const batch = data.batch(picked.map((p) => items[p.i]));
    const result = await engine.predict(batch.images, [task]);
    const cams = result.cams[task];
    if (!cams) continue;
    for (let k = 0; k < picked.length; k++) {
      const { i, correct } = picked[k];
      const p = sigmoid(logits[task][i] / cal.temperature[task]);
      const positive = p >= cal.thresholds[task];
      const label = labels[i] as 0 | 1;
      const size = data.size;
      const png = await overlayCrop(
        batch.images.data.subarray(
          k * size * size * 3,
          (k + 1) * size * size * 3,
        ),
        size,
        cams.subarray(k * size * size, (k + 1) * size * size),
      );
      const record = data.record(items[i]);
      out.push({
        task,
        split,
        dataset: record.dataset,
        file: record.file,
        correct,
        truth: CLASS_NAMES[task][label],
        predicted: CLASS_NAMES[task][positive ? 1 : 0],
        probability: positive ? p : 1 - p,
        png: `data:image/png;base64,${png.toString('base64')}`,
      });
    }
  }
  return out;
}

async function overlayCrop(
  rgb: Uint8Array,
  size: number,
  cam: Float32Array,
): Promise<Buffer> {
  const big = await sharp(Buffer.from(rgb), {
    raw: { width: size, height: size, channels: 3 },
  })
    .resize(SHOWN_SIZE, SHOWN_SIZE)
    .raw()
    .toBuffer();
  const img: DecodedImage = {
    data: big,
    width: SHOWN_SIZE,
    height: SHOWN_SIZE,
    originalWidth: SHOWN_SIZE,
    originalHeight: SHOWN_SIZE,
    scale: 1,
    orientationApplied: false,
    frames: 1,
    format: 'raw',
  };
  return renderOverlay(img, { x: 0, y: 0, size: SHOWN_SIZE }, cam, size, {
    alpha: 0.45,
    maxSide: SHOWN_SIZE,
  });
}
