import { z } from 'zod';
import { ENDPOINT_PATTERN, parseEndpoints } from './endpoints.ts';

const posInt = z.int().positive();
const nonNegInt = z.int().nonnegative();
const fraction = z.number().min(0).max(1);
const path = z.string().min(1);

/** Log levels pino understands; `silent` turns logging off. */
export const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const;

/** Face detectors the sidecar offers. */
export const DETECTOR_KINDS = ['haar', 'res10'] as const;

/** One endpoint, or a comma-separated list of them (one worker each). */
const endpoints = z.string().superRefine((text, ctx) => {
  const list = parseEndpoints(text);
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected an endpoint' });
  }
  for (const [i, one] of list.entries()) {
    if (!ENDPOINT_PATTERN.test(one)) {
      const message = `"${one}": expected tcp://host:port or ipc://path`;
      ctx.addIssue({ code: 'custom', message });
    } else if (list.indexOf(one) !== i) {
      ctx.addIssue({ code: 'custom', message: `"${one}" is listed twice` });
    }
  }
});

/** Torch devices the sidecar accepts; `auto` picks CUDA when present. */
export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
const device = z.enum(DEVICES);

const serverSchema = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(0).max(65535),
  publicUrl: z.url().nullable(),
  maxUploadBytes: posInt,
  maxFilesPerRequest: posInt,
  maxPixels: posInt,
  minSide: posInt,
  fileTtlSeconds: posInt,
  dataDir: path.nullable(),
  queueMax: posInt,
  sessionTtlSeconds: posInt,
  heartbeatSeconds: z.number().positive(),
  idleTimeoutMs: posInt,
  requestTimeoutMs: posInt,
});

const sidecarSchema = z.strictObject({
  python: path,
  endpoint: endpoints.nullable(),
  spawn: z.boolean(),
  workers: posInt.max(64),
  threads: nonNegInt,
  device,
  optimize: z.boolean(),
  callTimeoutMs: posInt,
  startTimeoutMs: posInt,
  maxMessageBytes: z.int().min(1024),
  restartBackoffMs: z.strictObject({ initial: posInt, max: posInt }),
  batchMaxSize: posInt,
  batchWaitMs: nonNegInt,
});

const modelSchema = z.strictObject({
  checkpoint: path.nullable(),
  pretrained: path.nullable(),
});

const detectorSchema = z.strictObject({
  kind: z.enum(DETECTOR_KINDS),
  haarCascade: path,
  res10Dir: path.nullable(),
  scaleFactor: z.number().gt(1).max(2),
  coarseScaleFactor: z.number().gt(1).max(2).nullable(),
  maxSide: z.int().min(64),
  minFaceFraction: z.number().gt(0).lt(1),
  minScore: fraction,
  wholeImageMaxSide: nonNegInt,
});

/**
 * The whole configuration, key for key the shape of `configs/default.json`.
 * Unknown keys are errors, so a typo never passes silently.
 */
export const configSchema = z.strictObject({
  server: serverSchema,
  sidecar: sidecarSchema,
  model: modelSchema,
  detector: detectorSchema,
  explain: z.strictObject({ overlayAlpha: fraction }),
  log: z.strictObject({ level: z.enum(LOG_LEVELS) }),
});

/** The parsed configuration before it is frozen. */
export type ConfigData = z.infer<typeof configSchema>;
export type LogLevel = ConfigData['log']['level'];
export type DetectorKind = ConfigData['detector']['kind'];
