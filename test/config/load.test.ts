import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError, type AppError } from '../../ts/errors.ts';
import {
  DEFAULTS,
  ENV_VARS,
  loadConfig,
  repoRoot,
} from '../../ts/config/index.ts';

function configError(run: () => unknown): AppError {
  try {
    run();
  } catch (err: unknown) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

function writeJson(value: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('loadConfig', () => {
  it('keeps the code defaults equal to configs/default.json', () => {
    const path = join(repoRoot(), 'configs/default.json');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(DEFAULTS);
  });

  it('returns the defaults with paths resolved against the repo root', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.port).toBe(7860);
    expect(config.sidecar.python).toBe('/usr/bin/python3');
    expect(config.model.checkpoint).toBe(
      join(repoRoot(), 'models/default/model.pt'),
    );
    expect(config.model.pretrained).toBe(
      join(repoRoot(), '..', DEFAULTS.model.pretrained!.slice(3)),
    );
  });

  it('applies the file, then the environment, then overrides', () => {
    const file = writeJson({ server: { port: 9000, host: '0.0.0.0' } });
    const config = loadConfig({
      file,
      env: { PORT: '9100', FACEATTR_LOG_LEVEL: 'debug' },
      overrides: { log: { level: 'warn' } },
    });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(9100);
    expect(config.log.level).toBe('warn');
  });

  it('reads the file named by FACEATTR_CONFIG', () => {
    const file = writeJson({ sidecar: { threads: 3 } });
    expect(loadConfig({ env: { FACEATTR_CONFIG: file } }).sidecar.threads).toBe(
      3,
    );
  });

  it('turns off spawning when FACEATTR_SIDECAR_ENDPOINT is set', () => {
    const env = { FACEATTR_SIDECAR_ENDPOINT: 'tcp://model:5555' };
    const { sidecar } = loadConfig({ env });
    expect(sidecar.endpoint).toBe('tcp://model:5555');
    expect(sidecar.spawn).toBe(false);
  });

  it('reads an empty FACEATTR_PRETRAINED as no pretrained weights', () => {
    const env = { FACEATTR_PRETRAINED: '' };
    expect(loadConfig({ env }).model.pretrained).toBeNull();
  });

  it('applies every variable in the env table', () => {
    const env = {
      PORT: '1234',
      HOST: '0.0.0.0',
      FACEATTR_PYTHON: 'python3',
      FACEATTR_THREADS: '2',
      FACEATTR_DEVICE: 'cpu',
      FACEATTR_SIDECAR_ENDPOINT: 'tcp://127.0.0.1:5555,tcp://127.0.0.1:5556',
      FACEATTR_WORKERS: '2',
      FACEATTR_MODEL: '/m/model.pt',
      FACEATTR_PRETRAINED: '/w/mnv2.pth',
      FACEATTR_DETECTOR: 'res10',
      FACEATTR_RES10_DIR: 'weights/res10',
      FACEATTR_LOG_LEVEL: 'error',
      FACEATTR_DATA_DIR: '/var/faceattr',
    };
    expect(Object.keys(env).sort()).toEqual(ENV_VARS.map((v) => v.env).sort());
    const c = loadConfig({ env });
    expect(c.server).toMatchObject({ port: 1234, host: '0.0.0.0' });
    expect(c.server.dataDir).toBe('/var/faceattr');
    expect(c.sidecar).toMatchObject({ python: 'python3', threads: 2 });
    expect(c.sidecar.device).toBe('cpu');
    expect(c.sidecar).toMatchObject({ spawn: false, workers: 2 });
    expect(c.model).toEqual({
      checkpoint: '/m/model.pt',
      pretrained: '/w/mnv2.pth',
    });
    expect(c.detector.kind).toBe('res10');
    expect(c.detector.res10Dir).toBe(join(repoRoot(), 'weights/res10'));
    expect(c.log.level).toBe('error');
  });

  it('lists every error at once with CONFIG_INVALID', () => {
    const file = writeJson({
      server: { port: 70000, colour: 'red' },
      sidecar: { restartBackoffMs: { initial: 5000, max: 10 } },
      detector: { minScore: 2 },
    });
    const err = configError(() =>
      loadConfig({
        file,
        env: { FACEATTR_THREADS: 'many', FACEATTR_DETECTOR: 'res10' },
      }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    const errors = err.details?.errors as string[];
    const keys = [
      'FACEATTR_THREADS',
      'server.port',
      'server',
      'detector.minScore',
      'sidecar.restartBackoffMs',
      'detector.res10Dir',
    ];
    for (const key of keys) {
      expect(errors.some((e) => e.startsWith(`${key}:`))).toBe(true);
    }
    expect(errors).toHaveLength(keys.length);
  });

  it('rejects spawn: false without an endpoint with CONFIG_INVALID', () => {
    const err = configError(() =>
      loadConfig({ env: {}, overrides: { sidecar: { spawn: false } } }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details?.errors).toEqual([
      'sidecar.endpoint: required when sidecar.spawn is false',
    ]);
  });

  it('reports a missing config file with CONFIG_INVALID', () => {
    const err = configError(() =>
      loadConfig({ file: '/nonexistent/config.json', env: {} }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
  });

  it('reports a file that is not JSON with CONFIG_INVALID', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'bad.json');
    writeFileSync(file, '{ port: 1');
    expect(configError(() => loadConfig({ file, env: {} })).code).toBe(
      'CONFIG_INVALID',
    );
  });

  it('returns a deep-frozen config', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sidecar.restartBackoffMs)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('does not change the defaults object', () => {
    loadConfig({ env: { PORT: '1' } });
    expect(DEFAULTS.server.port).toBe(7860);
  });
});
