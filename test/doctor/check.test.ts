import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../ts/config/index.ts';
import {
  APT_FIX,
  assertEnvironment,
  runDoctor,
} from '../../ts/doctor/index.ts';
import { rejection } from '../fixtures/errors.ts';
import { pythonSidecarMissing } from '../fixtures/backends.ts';

const missing = pythonSidecarMissing();
const RES10 = '/work/shared/weights/opencv-res10-ssd-face';
const config = (env: Record<string, string> = {}) =>
  loadConfig({ env: { FACEATTR_THREADS: '1', ...env } });
const check = (report: Awaited<ReturnType<typeof runDoctor>>, name: string) =>
  report.checks.find((c) => c.name === name);

describe('runDoctor', () => {
  it('reports a missing interpreter as an error with the install command', async () => {
    const report = await runDoctor(
      config({ FACEATTR_PYTHON: '/nope/python3' }),
    );
    expect(report.ok).toBe(false);
    expect(check(report, 'python')?.status).toBe('error');
    expect(report.fixes[0]).toContain(APT_FIX);
  });

  it.skipIf(missing)(
    'reports versions and threads of a working interpreter',
    async () => {
      const report = await runDoctor(config());
      expect(report.ok).toBe(true);
      expect(report.python.version).toMatch(/^3\./);
      for (const name of ['torch', 'torchvision', 'zmq', 'numpy', 'cv2']) {
        expect(check(report, name)?.status).toBe('ok');
        expect(report.versions[name]).toMatch(/^\d/);
      }
      expect(report.threads).toMatchObject({ requested: 1, after: 1 });
      expect(check(report, 'detector')?.status).toBe('ok');
      expect(report.cuda?.available).toBeTypeOf('boolean');
    },
  );

  it.skipIf(missing)('reports a haar cascade that is not there', async () => {
    const report = await runDoctor(
      loadConfig({
        env: { FACEATTR_THREADS: '1' },
        overrides: { detector: { haarCascade: '/nope/cascade.xml' } },
      }),
    );
    expect(report.ok).toBe(false);
    expect(check(report, 'detector')).toMatchObject({
      status: 'error',
      fix: APT_FIX,
    });
  });

  it.skipIf(missing || !existsSync(RES10))(
    'loads the res10 detector when configured',
    async () => {
      const env = { FACEATTR_DETECTOR: 'res10', FACEATTR_RES10_DIR: RES10 };
      const report = await runDoctor(config(env));
      expect(check(report, 'detector')?.status).toBe('ok');
    },
  );

  it.skipIf(missing)(
    'gives up on a slow interpreter instead of hanging',
    async () => {
      const started = Date.now();
      const report = await runDoctor(config(), { timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(check(report, 'python')?.status).toBe('error');
      expect(report.ok).toBe(false);
    },
  );

  it('warns about a missing checkpoint, or fails when serving needs it', async () => {
    const env = { FACEATTR_MODEL: '/nope/model.pt', FACEATTR_PYTHON: '/nope' };
    const loose = await runDoctor(config(env));
    expect(check(loose, 'checkpoint')?.status).toBe('warn');
    const strict = await runDoctor(config(env), { requireCheckpoint: true });
    expect(check(strict, 'checkpoint')?.status).toBe('error');
  });

  it('refuses to start on a broken environment with ENVIRONMENT', async () => {
    const broken = config({ FACEATTR_PYTHON: '/nope/python3' });
    const err = await rejection(assertEnvironment(broken));
    expect(err.code).toBe('ENVIRONMENT');
    expect(err.message).toContain(APT_FIX);
  });
});
