import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, repoRoot } from '../../../ts/config/index.ts';
import { silentLogger } from '../../../ts/logging.ts';
import { createServerApp } from '../../../ts/main.ts';
import type { ModelCard } from '../../../ts/protocol/index.ts';
import { startSidecar } from '../../../ts/sidecar/index.ts';
import type { TestServer } from './app.ts';
import { syntheticFaces } from './generated.ts';

/** Labelled faces for tests; absent on machines without the shared data. */
export const SHARED_DATA = path.resolve(repoRoot(), '..', 'shared', 'data');
export const CELEBA = path.join(SHARED_DATA, 'celeba-subset');
export const HAVE_FACES = existsSync(path.join(CELEBA, 'labels.csv'));
export const NO_FACES_REASON =
  `no face images at ${CELEBA} (../shared/data): tests that need a real ` +
  'face are skipped';

/** The checkpoint the server loads: `$FACEATTR_MODEL`, else the default. */
export const DEFAULT_MODEL = path.resolve(
  repoRoot(),
  process.env.FACEATTR_MODEL || path.join('models', 'default', 'model.pt'),
);
export const HAVE_TRAINED_MODEL = existsSync(DEFAULT_MODEL);

export interface RealServer extends TestServer {
  card: ModelCard;
  /** True when a trained checkpoint is served, not a fresh random model. */
  trained: boolean;
}

/**
 * The real server on a free port with the real sidecar: the default trained
 * model when `models/default/model.pt` exists, else a freshly built model
 * (random heads, so labels are meaningless but every path runs).
 */
export async function startRealServer(
  server: Record<string, unknown> = {},
): Promise<RealServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'faceattr-real-'));
  const config = loadConfig({
    overrides: {
      server: { dataDir, port: 0, host: '127.0.0.1', ...server },
      log: { level: 'silent' },
    },
  });
  const sidecar = await startSidecar(config, { logger: silentLogger() });
  const trained = sidecar.card !== null;
  if (!trained) {
    await sidecar.loadModel({
      arch: {
        backbone: 'mobilenet_v2',
        output_stride: 16,
        adapter_channels: 128,
      },
      input_size: 96,
    });
  }
  const app = await createServerApp(config, sidecar, silentLogger());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    card: sidecar.card as ModelCard,
    trained,
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface LabelledFace {
  file: string;
  male: number | null;
  smiling: number | null;
}

/** The CelebA subset's labels, in file order. */
export async function celebaLabels(): Promise<LabelledFace[]> {
  const text = await readFile(path.join(CELEBA, 'labels.csv'), 'utf8');
  const cell = (v: string) => (v === '' ? null : Number(v));
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [file, male, smiling] = line.split(',');
      return { file, male: cell(male), smiling: cell(smiling) };
    });
}

export function celebaImage(file: string): Promise<Buffer> {
  return readFile(path.join(CELEBA, 'images', file));
}

/** Where test faces come from, for test names. */
export const FACE_SOURCE = HAVE_FACES
  ? 'CelebA faces from ../shared/data'
  : 'drawn faces (../shared/data is absent)';

/**
 * Four different face images: CelebA crops when the shared data is present,
 * else drawn faces the detector also finds.
 */
export async function testFaces(): Promise<Buffer[]> {
  if (!HAVE_FACES) return syntheticFaces();
  return Promise.all(
    ['000001.jpg', '000003.jpg', '000004.jpg', '000005.jpg'].map(celebaImage),
  );
}
