import { describe, expect, it } from 'vitest';
import {
  loadConfig,
  parseEndpoints,
  type ConfigData,
  type DeepPartial,
} from '../../ts/config/index.ts';
import { isAppError } from '../../ts/errors.ts';

/** The `details.errors` lines of a failed load; fails when it loads. */
function errorsOf(
  env: NodeJS.ProcessEnv,
  overrides: DeepPartial<ConfigData> = {},
): string[] {
  try {
    loadConfig({ env, overrides });
  } catch (err: unknown) {
    if (isAppError(err) && err.code === 'CONFIG_INVALID') {
      return err.details?.errors as string[];
    }
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('sidecar.workers and endpoint lists', () => {
  it('defaults to one spawned worker', () => {
    const { sidecar } = loadConfig({ env: {} });
    expect(sidecar).toMatchObject({ workers: 1, spawn: true, endpoint: null });
  });

  it('reads FACEATTR_WORKERS', () => {
    expect(loadConfig({ env: { FACEATTR_WORKERS: '3' } }).sidecar.workers).toBe(
      3,
    );
  });

  it('takes a comma-separated FACEATTR_SIDECAR_ENDPOINT, one worker each', () => {
    const env = {
      FACEATTR_SIDECAR_ENDPOINT: ' tcp://model:5555, tcp://model-2:5555 ',
    };
    const { sidecar } = loadConfig({ env });
    expect(sidecar.spawn).toBe(false);
    expect(sidecar.workers).toBe(1);
    expect(parseEndpoints(sidecar.endpoint)).toEqual([
      'tcp://model:5555',
      'tcp://model-2:5555',
    ]);
  });

  it('splits, trims and drops empty entries', () => {
    expect(parseEndpoints(null)).toEqual([]);
    expect(parseEndpoints('ipc:///a.sock,,tcp://b:1 ,')).toEqual([
      'ipc:///a.sock',
      'tcp://b:1',
    ]);
  });

  it('rejects a bad or repeated entry in the list', () => {
    const bad = errorsOf({ FACEATTR_SIDECAR_ENDPOINT: 'tcp://a:1,http://b' });
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^sidecar\.endpoint: "http:\/\/b": expected tcp/);
    const twice = errorsOf({
      FACEATTR_SIDECAR_ENDPOINT: 'tcp://a:1,tcp://a:1',
    });
    expect(twice).toEqual(['sidecar.endpoint: "tcp://a:1" is listed twice']);
    expect(errorsOf({}, { sidecar: { endpoint: ' , ' } })).toEqual([
      'sidecar.endpoint: expected an endpoint',
    ]);
  });

  it('rejects fewer than one worker, or a non-integer', () => {
    expect(errorsOf({ FACEATTR_WORKERS: '0' })[0]).toMatch(
      /^sidecar\.workers:/,
    );
    expect(errorsOf({ FACEATTR_WORKERS: 'two' })).toEqual([
      'FACEATTR_WORKERS: expected an integer (got "two")',
    ]);
  });

  it('wants one fixed endpoint per spawned worker', () => {
    const overrides = {
      sidecar: { workers: 2, endpoint: 'tcp://127.0.0.1:5555' },
    };
    expect(errorsOf({}, overrides)[0]).toMatch(
      /^sidecar\.endpoint: lists 1 endpoint\(s\) for 2 spawned worker/,
    );
    const two = 'tcp://127.0.0.1:5555,tcp://127.0.0.1:5556';
    const ok = loadConfig({
      env: {},
      overrides: { sidecar: { workers: 2, endpoint: two } },
    });
    expect(ok.sidecar).toMatchObject({ spawn: true, workers: 2 });
  });

  it('connecting, wants workers left at 1 or equal to the endpoints', () => {
    const env = { FACEATTR_SIDECAR_ENDPOINT: 'tcp://a:1,tcp://b:1' };
    expect(loadConfig({ env: { ...env, FACEATTR_WORKERS: '2' } })).toBeTruthy();
    expect(errorsOf({ ...env, FACEATTR_WORKERS: '3' })).toEqual([
      'sidecar.workers: 3, but sidecar.endpoint lists 2; when connecting ' +
        'there is one worker per endpoint',
    ]);
  });
});
