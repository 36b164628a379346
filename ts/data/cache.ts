import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Label } from './labels.ts';
import type { Split } from './split.ts';

/** One prepared image: its labels and where its pixels sit. */
export interface CachedRecord {
  dataset: string;
  file: string;
  male: Label;
  smiling: Label;
  split: Split;
  /** The key the split was drawn by (identity or file). */
  group: string;
  /** False when no face was detected and the centre square was used. */
  detected: boolean;
  meta: Record<string, string>;
}

/** The description of a prepared data set, written last. */
export interface CacheManifest {
  version: 1;
  dataset: string;
  source: string;
  size: number;
  margin: number;
  detector: string;
  seed: number;
  chunks: number;
  count: number;
  skipped: { file: string; reason: string }[];
  done: boolean;
}

/** A whole prepared data set held in memory. */
export interface PreparedSet {
  manifest: CacheManifest;
  records: CachedRecord[];
  /** `records.length * size * size * 3` bytes, RGB, row-major. */
  pixels: Uint8Array;
}

export const chunkName = (i: number): string =>
  `chunk-${String(i).padStart(4, '0')}`;

/** Writes a file atomically: a temp file in the same folder, then rename. */
export async function writeAtomic(
  file: string,
  data: string | Uint8Array,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Saves one chunk; the JSON is written after the pixels, so it marks done. */
export async function writeChunk(
  dir: string,
  index: number,
  records: CachedRecord[],
  pixels: Uint8Array,
): Promise<void> {
  await writeAtomic(path.join(dir, `${chunkName(index)}.u8`), pixels);
  await writeAtomic(
    path.join(dir, `${chunkName(index)}.json`),
    JSON.stringify({ records }),
  );
}

export function chunkDone(dir: string, index: number): boolean {
  return existsSync(path.join(dir, `${chunkName(index)}.json`));
}

/** Loads a finished prepared data set. */
export async function loadPrepared(dir: string): Promise<PreparedSet> {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new Error(`${dir} is not a prepared data set (no manifest.json)`);
  }
  const manifest = JSON.parse(
    await readFile(manifestPath, 'utf8'),
  ) as CacheManifest;
  if (!manifest.done) throw new Error(`${dir}: preparation did not finish`);
  const stride = manifest.size * manifest.size * 3;
  const pixels = new Uint8Array(manifest.count * stride);
  const records: CachedRecord[] = [];
  for (let i = 0; i < manifest.chunks; i++) {
    const base = path.join(dir, chunkName(i));
    const chunk = JSON.parse(await readFile(`${base}.json`, 'utf8')) as {
      records: CachedRecord[];
    };
    const bytes = await readFile(`${base}.u8`);
    pixels.set(bytes, records.length * stride);
    records.push(...chunk.records);
  }
  return { manifest, records, pixels };
}
