import {
  mkdir,
  mkdtemp,
  readdir,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../ts/logging.ts';
import { confinePath } from '../../ts/serve/files/confine.ts';
import { FileStore } from '../../ts/serve/files/file-store.ts';
import { solidPng, startTestServer, type TestServer } from './helpers/app.ts';

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('confinePath', () => {
  let root: string;
  let uploads: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'faceattr-confine-'));
    uploads = path.join(root, 'uploads');
    await mkdir(path.join(uploads, 'a'), { recursive: true });
    await mkdir(path.join(root, 'uploads-evil'));
    await writeFile(path.join(uploads, 'a', 'ok.png'), 'x');
    await writeFile(path.join(root, 'uploads-evil', 'x.png'), 'x');
    await symlink('/etc/passwd', path.join(uploads, 'a', 'link.png'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('accepts a regular file inside the root, by absolute or relative path', async () => {
    const real = await confinePath(path.join(uploads, 'a', 'ok.png'), [
      uploads,
    ]);
    expect(real).toBe(path.join(uploads, 'a', 'ok.png'));
    expect(await confinePath('a/ok.png', [uploads])).toBe(real);
  });

  it('refuses a sibling directory that shares the prefix', async () => {
    const p = path.join(root, 'uploads-evil', 'x.png');
    expect(await code(confinePath(p, [uploads]))).toBe('BAD_PATH');
  });

  it('refuses .. escapes, symlinks out, NUL bytes and URL schemes', async () => {
    for (const p of [
      `${uploads}/../uploads-evil/x.png`,
      '../../etc/passwd',
      path.join(uploads, 'a', 'link.png'),
      `${uploads}/a/ok.png\u0000`,
      'https://example.com/a.png',
      'file:///etc/passwd',
      'data:image/png;base64,AAAA',
    ]) {
      expect(await code(confinePath(p, [uploads]))).toBe('BAD_PATH');
    }
  });

  it('refuses directories and says when an allowed path is missing', async () => {
    expect(await code(confinePath(path.join(uploads, 'a'), [uploads]))).toBe(
      'BAD_PATH',
    );
    expect(await code(confinePath(`${uploads}/nope.png`, [uploads]))).toBe(
      'FILE_NOT_FOUND',
    );
    expect(await code(confinePath(123, [uploads]))).toBe('BAD_PATH');
  });
});

describe('FileStore', () => {
  it('names files from their bytes in random directories, and expires them', async () => {
    const store = await FileStore.open({
      dataDir: null,
      ttlSeconds: 60,
      log: silentLogger(),
    });
    try {
      const png = await store.saveUpload(await solidPng('#123456'));
      const text = await store.saveUpload(Buffer.from('<svg onload=alert(1)>'));
      expect(path.basename(png.path)).toBe('upload.png');
      expect(path.basename(text.path)).toBe('upload.bin');
      expect(path.basename(path.dirname(png.path))).toMatch(/^[0-9a-f]{32}$/);
      expect(await store.sweep()).toBe(0);
      const old = new Date(Date.now() - 120_000);
      await utimes(path.dirname(png.path), old, old);
      expect(await store.sweep()).toBe(1);
      expect(await readdir(store.uploadsDir)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('upload and file= routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      {},
      { maxUploadBytes: 4096, maxFilesPerRequest: 2 },
    );
  });
  afterAll(() => server.close());

  async function upload(...parts: Blob[]) {
    const form = new FormData();
    for (const p of parts) form.append('files', p, 'x.png');
    return fetch(`${server.url}/gradio_api/upload`, {
      method: 'POST',
      body: form,
    });
  }

  it('returns server paths in upload order', async () => {
    const res = await upload(
      new Blob([new Uint8Array(await solidPng('#ff0000', 8, 8))]),
      new Blob([new Uint8Array(await solidPng('#00ff00', 8, 8))]),
    );
    expect(res.status).toBe(200);
    const paths = (await res.json()) as string[];
    expect(paths).toHaveLength(2);
    for (const p of paths)
      expect(p.startsWith(path.join(server.dataDir, 'uploads'))).toBe(true);
  });

  it('refuses too many files and too large files with 413 and a text body', async () => {
    const small = new Blob([Buffer.alloc(10)]);
    const tooMany = await upload(small, small, small);
    expect(tooMany.status).toBe(413);
    expect(tooMany.headers.get('content-type')).toMatch(/^text\/plain/);
    const tooBig = await upload(new Blob([Buffer.alloc(5000)]));
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('refuses a non-multipart upload', async () => {
    const res = await fetch(`${server.url}/gradio_api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(400);
  });

  it('serves images inline and anything else as a nosniff attachment', async () => {
    const [png, html] = (await (
      await upload(
        new Blob([new Uint8Array(await solidPng('#ff0000', 8, 8))]),
        new Blob(['<html><script>alert(1)</script></html>'], {
          type: 'text/html',
        }),
      )
    ).json()) as string[];
    const image = await fetch(`${server.url}/gradio_api/file=${png}`);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('content-disposition')).toBe('inline');
    expect(image.headers.get('x-content-type-options')).toBe('nosniff');
    const page = await fetch(`${server.url}/gradio_api/file=${html}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('application/octet-stream');
    expect(page.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers other /gradio_api paths with 404', async () => {
    expect((await fetch(`${server.url}/gradio_api/nothing-here`)).status).toBe(
      404,
    );
  });
});
