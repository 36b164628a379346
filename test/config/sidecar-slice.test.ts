import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig, sidecarSlice } from '../../ts/config/index.ts';

describe('sidecarSlice', () => {
  it('has exactly the keys the sidecar reads, in its names', () => {
    const slice = sidecarSlice(loadConfig({ env: {} }));
    expect(Object.keys(slice).sort()).toEqual(
      [
        'detector',
        'device',
        'max_message_bytes',
        'model',
        'optimize_inference',
        'threads',
      ].sort(),
    );
    expect(Object.keys(slice.detector).sort()).toEqual(
      [
        'coarse_scale_factor',
        'haar_cascade',
        'kind',
        'res10_dir',
        'scale_factor',
      ].sort(),
    );
    expect(Object.keys(slice.model).sort()).toEqual(
      ['checkpoint', 'pretrained'].sort(),
    );
    expect(slice.max_message_bytes).toBe(67_108_864);
    expect(slice.optimize_inference).toBe(true);
  });

  it('passes sidecar.optimize: false through as optimize_inference', () => {
    const config = loadConfig({
      env: {},
      overrides: { sidecar: { optimize: false } },
    });
    expect(sidecarSlice(config).optimize_inference).toBe(false);
  });

  it('resolves 0 threads to the number of cores', () => {
    const slice = sidecarSlice(loadConfig({ env: { FACEATTR_THREADS: '0' } }));
    expect(slice.threads).toBe(availableParallelism());
  });

  it('passes null for model files that do not exist', () => {
    const env = {
      FACEATTR_PRETRAINED: '/nonexistent/weights.pth',
      FACEATTR_MODEL: '/nonexistent/model.pt',
    };
    const slice = sidecarSlice(loadConfig({ env }));
    expect(slice.model).toEqual({ checkpoint: null, pretrained: null });
  });

  it('passes the path of a model file that exists', () => {
    const env = { FACEATTR_PRETRAINED: '/etc/hostname' };
    expect(sidecarSlice(loadConfig({ env })).model.pretrained).toBe(
      '/etc/hostname',
    );
  });
});
