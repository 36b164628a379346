import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isAppError } from '../errors.ts';
import { cropSquare } from '../images/crop.ts';
import { decodeImage, type ImageLimits } from '../images/decode.ts';
import {
  trainingSquare,
  type FaceDetector,
  type FaceOptions,
} from '../pipeline/faces.ts';
import {
  chunkDone,
  chunkName,
  writeAtomic,
  writeChunk,
  type CacheManifest,
  type CachedRecord,
} from './cache.ts';
import { readLabels, type LabelledImage } from './labels.ts';
import { splitFor, type SplitFractions } from './split.ts';

export interface PrepareOptions {
  /** Model input size: every face is stored as size × size RGB. */
  size: number;
  faces: FaceOptions;
  /** Detector and its settings, recorded with the cache (e.g. "haar (…)"). */
  detector: string;
  limits: ImageLimits;
  seed: number;
  fractions: SplitFractions;
  /** The meta.csv column naming the person, when the data set has one. */
  groupColumn: string;
  chunkSize: number;
  /** How many images are decoded at once. */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
  onSkip?: (file: string, reason: string) => void;
}

/**
 * The folder a data set is prepared into: one per source folder and per
 * choice that changes the pixels (size, face search and margin, detector).
 */
export function cacheDirFor(
  cacheRoot: string,
  source: string,
  opts: Pick<PrepareOptions, 'size' | 'faces' | 'detector' | 'seed'>,
): string {
  const key = JSON.stringify([
    path.resolve(source),
    opts.size,
    opts.faces,
    opts.detector,
    opts.seed,
  ]);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return path.join(cacheRoot, `${path.basename(source)}-${opts.size}-${hash}`);
}

/**
 * Decodes every image of a data set folder (`images/`, `labels.csv`) through
 * the serving preprocessing, crops its face and stores it in chunks. Chunks
 * already written are kept, so an interrupted run resumes. Unreadable images
 * are reported and skipped.
 */
export async function prepareDataset(
  source: string,
  outDir: string,
  detector: FaceDetector,
  opts: PrepareOptions,
): Promise<CacheManifest> {
  const dataset = path.basename(path.resolve(source));
  const items = await readLabels(path.join(source, 'labels.csv'));
  const chunks = Math.ceil(items.length / opts.chunkSize);
  const skipped: CacheManifest['skipped'] = [];
  let count = 0;
  for (let c = 0; c < chunks; c++) {
    const slice = items.slice(c * opts.chunkSize, (c + 1) * opts.chunkSize);
    if (chunkDone(outDir, c)) {
      count += await countChunk(outDir, c);
    } else {
      const chunk = await prepareChunk(dataset, source, slice, detector, opts);
      for (const s of chunk.skipped) {
        skipped.push(s);
        opts.onSkip?.(s.file, s.reason);
      }
      await writeChunk(outDir, c, chunk.records, chunk.pixels);
      count += chunk.records.length;
    }
    opts.onProgress?.(
      Math.min(items.length, (c + 1) * opts.chunkSize),
      items.length,
    );
  }
  const manifest: CacheManifest = {
    version: 1,
    dataset,
    source: path.resolve(source),
    size: opts.size,
    margin: opts.faces.margin,
    detector: opts.detector,
    seed: opts.seed,
    chunks,
    count,
    skipped,
    done: true,
  };
  await writeAtomic(
    path.join(outDir, 'manifest.json'),
    JSON.stringify(manifest),
  );
  return manifest;
}

async function countChunk(dir: string, index: number): Promise<number> {
  const text = await readFile(
    path.join(dir, `${chunkName(index)}.json`),
    'utf8',
  );
  return (JSON.parse(text) as { records: unknown[] }).records.length;
}

async function prepareChunk(
  dataset: string,
  source: string,
  items: LabelledImage[],
  detector: FaceDetector,
  opts: PrepareOptions,
): Promise<{
  records: CachedRecord[];
  pixels: Uint8Array;
  skipped: { file: string; reason: string }[];
}> {
  const stride = opts.size * opts.size * 3;
  const results = new Array<{ crop: Buffer; detected: boolean } | Error>(
    items.length,
  );
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await cropOne(source, items[i].file, detector, opts).catch(
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));

  const records: CachedRecord[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const pixels = new Uint8Array(items.length * stride);
  items.forEach((item, i) => {
    const r = results[i];
    if (r instanceof Error) {
      skipped.push({ file: item.file, reason: describe(r) });
      return;
    }
    pixels.set(r.crop, records.length * stride);
    const group = item.meta[opts.groupColumn] ?? item.file;
    records.push({
      dataset,
      file: item.file,
      male: item.male,
      smiling: item.smiling,
      split: splitFor(`${dataset}:${group}`, opts.seed, opts.fractions),
      group,
      detected: r.detected,
      meta: item.meta,
    });
  });
  return { records, pixels: pixels.slice(0, records.length * stride), skipped };
}

async function cropOne(
  source: string,
  file: string,
  detector: FaceDetector,
  opts: PrepareOptions,
): Promise<{ crop: Buffer; detected: boolean }> {
  const bytes = await readFile(path.join(source, 'images', file));
  const img = await decodeImage(bytes, opts.limits);
  const { square, detected } = await trainingSquare(img, detector, opts.faces);
  return { crop: await cropSquare(img, square, opts.size), detected };
}

function describe(err: Error): string {
  return isAppError(err) ? `${err.code}: ${err.message}` : err.message;
}
