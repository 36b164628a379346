import { randomBytes } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readdir,
  realpath,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { confinePath } from './confine.ts';
import { sniffImageType } from './sniff.ts';

export interface StoredFile {
  /** Absolute real path on the server; what Gradio clients send back. */
  path: string;
  size: number;
}

export interface FileStoreOptions {
  /** Where to keep files; null: a fresh private temp directory. */
  dataDir: string | null;
  ttlSeconds: number;
  log: FastifyBaseLogger;
}

const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/avif': '.avif',
  'image/bmp': '.bmp',
};

/**
 * Uploaded inputs and generated outputs on disk, each in a directory of its
 * own with a random 128-bit name. File names never come from clients.
 * Everything expires `ttlSeconds` after it was written.
 */
export class FileStore {
  private sweeper: NodeJS.Timeout | null = null;

  private constructor(
    readonly root: string,
    readonly uploadsDir: string,
    readonly outputsDir: string,
    private readonly ownsRoot: boolean,
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  static async open(options: FileStoreOptions): Promise<FileStore> {
    const ownsRoot = options.dataDir === null;
    const base =
      options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'faceattr-')));
    await mkdir(base, { recursive: true, mode: 0o700 });
    const root = await realpath(base);
    const uploads = path.join(root, 'uploads');
    const outputs = path.join(root, 'outputs');
    await mkdir(uploads, { recursive: true, mode: 0o700 });
    await mkdir(outputs, { recursive: true, mode: 0o700 });
    const ttlMs = options.ttlSeconds * 1000;
    const store = new FileStore(
      root,
      uploads,
      outputs,
      ownsRoot,
      ttlMs,
      options.log,
    );
    store.startSweeper(Math.min(Math.max(ttlMs / 4, 1000), 60_000));
    return store;
  }

  saveUpload(data: Buffer): Promise<StoredFile> {
    return this.save(this.uploadsDir, 'upload', data);
  }

  saveOutput(data: Buffer, stem: string): Promise<StoredFile> {
    return this.save(this.outputsDir, stem, data);
  }

  /** A client-named file, confined to uploads and outputs (see confinePath). */
  resolve(candidate: unknown): Promise<string> {
    return confinePath(candidate, [this.uploadsDir, this.outputsDir]);
  }

  /** Deletes entries older than the TTL; returns how many went. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const dir of [this.uploadsDir, this.outputsDir]) {
      for (const name of await readdir(dir)) {
        const entry = path.join(dir, name);
        const info = await stat(entry).catch(() => null);
        if (info && now - info.mtimeMs >= this.ttlMs) {
          await rm(entry, { recursive: true, force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
  }

  private async save(
    dir: string,
    stem: string,
    data: Buffer,
  ): Promise<StoredFile> {
    const ext = EXTENSIONS[sniffImageType(data) ?? ''] ?? '.bin';
    const folder = path.join(dir, randomBytes(16).toString('hex'));
    await mkdir(folder, { mode: 0o700 });
    const file = path.join(folder, `${stem}${ext}`);
    await writeFile(file, data, { mode: 0o600 });
    return { path: file, size: data.length };
  }

  private startSweeper(intervalMs: number): void {
    this.sweeper = setInterval(() => {
      this.sweep().then(
        (removed) => {
          if (removed > 0) this.log.debug({ removed }, 'expired files removed');
        },
        (err: unknown) => this.log.warn({ err }, 'file sweep failed'),
      );
    }, intervalMs);
    this.sweeper.unref();
  }
}
