import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { buildApp, type AppDeps } from '../../../ts/serve/app.ts';
import {
  DEFAULT_SERVER_SETTINGS,
  type ServerSettings,
} from '../../../ts/serve/settings.ts';
import { StubAnalyzer } from './stub-analyzer.ts';

export interface TestServer {
  app: FastifyInstance;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** A server on a free port with its own data directory. */
export async function startTestServer(
  deps: Partial<AppDeps> = {},
  settings: Partial<ServerSettings> = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'faceattr-test-'));
  const app = await buildApp({
    analyzer: new StubAnalyzer(),
    ...deps,
    settings: { ...DEFAULT_SERVER_SETTINGS, dataDir, ...settings },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small solid-colour PNG. */
export function solidPng(
  color: string,
  width = 64,
  height = 64,
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}
