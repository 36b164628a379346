import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const UI_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ui');

/** The browser bundle of @gradio/client and its one lazily imported stub. */
function gradioClientDist(): string {
  const require = createRequire(import.meta.url);
  return path.join(
    path.dirname(require.resolve('@gradio/client/package.json')),
    'dist',
  );
}

const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const dist = gradioClientDist();
  const stub = (await readdir(dist)).find((f) =>
    f.startsWith('__vite-browser-external'),
  );
  const js = 'text/javascript; charset=utf-8';
  const files: Array<[string, string, string]> = [
    ['/', path.join(UI_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['/ui/app.js', path.join(UI_DIR, 'app.js'), js],
    ['/ui/app.css', path.join(UI_DIR, 'app.css'), 'text/css; charset=utf-8'],
    ['/ui/vendor/browser.js', path.join(dist, 'browser.js'), js],
  ];
  if (stub) files.push([`/ui/vendor/${stub}`, path.join(dist, stub), js]);
  const assets = new Map<string, Asset>();
  for (const [url, file, type] of files) {
    assets.set(url, { type, body: await readFile(file) });
  }
  return assets;
}

/**
 * The web page at / and its assets, all served from this process: the page
 * loads nothing from any other origin (no CDN, no fonts).
 */
export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const assets = await loadAssets();
  for (const [url, asset] of assets) {
    app.get(url, { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type(asset.type)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', PAGE_CSP)
        .header('cache-control', 'no-cache')
        .send(asset.body),
    );
  }
  app.get('/favicon.ico', { schema: { hide: true } }, async (_req, reply) =>
    reply.code(204).send(),
  );
}
