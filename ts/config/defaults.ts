import type { ConfigData } from './schema.ts';

/**
 * Every tunable with its default. `configs/default.json` holds the same
 * values (a test keeps the two equal). Relative paths are resolved against
 * the repository root when the config is loaded.
 */
export const DEFAULTS: ConfigData = {
  server: {
    host: '127.0.0.1',
    port: 7860,
    publicUrl: null,
    maxUploadBytes: 20_971_520,
    maxFilesPerRequest: 4,
    maxPixels: 40_000_000,
    minSide: 32,
    fileTtlSeconds: 3600,
    dataDir: null,
    queueMax: 64,
    sessionTtlSeconds: 600,
    heartbeatSeconds: 10,
    idleTimeoutMs: 60_000,
    requestTimeoutMs: 300_000,
  },
  sidecar: {
    python: '/usr/bin/python3',
    endpoint: null,
    spawn: true,
    workers: 1,
    threads: 0,
    device: 'auto',
    optimize: true,
    callTimeoutMs: 30_000,
    startTimeoutMs: 120_000,
    maxMessageBytes: 67_108_864,
    restartBackoffMs: { initial: 500, max: 10_000 },
    batchMaxSize: 16,
    batchWaitMs: 0,
  },
  model: {
    checkpoint: 'models/default/model.pt',
    pretrained:
      '../shared/weights/mobilenet_v2_imagenet_tflite_qat/mobilenet_v2_imagenet_torchvision.pth',
  },
  detector: {
    kind: 'haar',
    haarCascade:
      '/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml',
    res10Dir: null,
    scaleFactor: 1.1,
    coarseScaleFactor: 1.3,
    maxSide: 640,
    minFaceFraction: 0.08,
    minScore: 0.5,
    wholeImageMaxSide: 256,
  },
  explain: { overlayAlpha: 0.5 },
  log: { level: 'info' },
};
