import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError } from '../errors.ts';
import { DEFAULTS } from './defaults.ts';
import { parseEndpoints } from './endpoints.ts';
import { CONFIG_FILE_ENV, readEnv } from './env.ts';
import {
  deepFreeze,
  deepMerge,
  isPlainObject,
  type DeepPartial,
  type DeepReadonly,
} from './objects.ts';
import { resolveCommand, resolveFromRoot } from './paths.ts';
import { configSchema, type ConfigData } from './schema.ts';

/** The validated, deep-frozen configuration the app runs with. */
export type Config = DeepReadonly<ConfigData>;

export interface LoadConfigOptions {
  /** JSON config file; defaults to `$FACEATTR_CONFIG`, else none. */
  file?: string;
  /** Environment to read; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Applied last, after the file and the environment. */
  overrides?: DeepPartial<ConfigData>;
}

/**
 * Builds the configuration: defaults, then the JSON file, then environment
 * variables, then `overrides`. Relative paths are resolved against the
 * repository root and the result is deep-frozen.
 *
 * @throws AppError `CONFIG_INVALID` listing every problem found (in
 *   `details.errors`, one line each), not just the first.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const errors: string[] = [];
  const file = options.file ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fromFile = file === undefined ? {} : readJson(file, errors);
  const fromEnv = readEnv(env);
  errors.push(...fromEnv.errors);

  let merged = deepMerge(DEFAULTS, fromFile);
  merged = deepMerge(merged, fromEnv.overlay);
  merged = deepMerge(merged, options.overrides ?? {});

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      errors.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
  }
  errors.push(...crossFieldErrors(merged));
  if (errors.length > 0 || !parsed.success) {
    throw new AppError(
      'CONFIG_INVALID',
      `Invalid configuration:\n  - ${errors.join('\n  - ')}`,
      { details: { errors, file: file ?? null } },
    );
  }
  return deepFreeze(resolvePaths(parsed.data));
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

function readJson(file: string, errors: string[]): unknown {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    errors.push(`${path}: cannot read the config file (${describe(err)})`);
    return {};
  }
  try {
    const data: unknown = JSON.parse(text);
    if (isPlainObject(data)) return data;
    errors.push(`${path}: the config file must hold a JSON object`);
  } catch (err: unknown) {
    errors.push(`${path}: not valid JSON (${describe(err)})`);
  }
  return {};
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Rules that tie two keys together; tolerant of values of the wrong type. */
function crossFieldErrors(raw: unknown): string[] {
  const errors: string[] = [];
  const cfg = raw as Partial<Record<string, Record<string, unknown>>>;
  const sidecar = cfg.sidecar ?? {};
  if (sidecar.spawn === false && sidecar.endpoint == null) {
    errors.push('sidecar.endpoint: required when sidecar.spawn is false');
  }
  errors.push(...workerErrors(sidecar));
  const backoff = sidecar.restartBackoffMs as Record<string, unknown>;
  if (
    isPlainObject(backoff) &&
    typeof backoff.initial === 'number' &&
    typeof backoff.max === 'number' &&
    backoff.initial > backoff.max
  ) {
    errors.push('sidecar.restartBackoffMs: initial must not exceed max');
  }
  const detector = cfg.detector ?? {};
  if (detector.kind === 'res10' && detector.res10Dir == null) {
    errors.push('detector.res10Dir: required when detector.kind is res10');
  }
  return errors;
}

/**
 * Spawning, each worker binds its own endpoint: a fixed `sidecar.endpoint`
 * must list one per worker. Connecting, there is one worker per endpoint:
 * `sidecar.workers` is left at 1 or agrees with the list.
 */
function workerErrors(sidecar: Record<string, unknown>): string[] {
  const { endpoint, spawn, workers } = sidecar;
  if (typeof endpoint !== 'string' || typeof workers !== 'number') return [];
  const count = parseEndpoints(endpoint).length;
  if (count === 0) return []; // the schema reports it
  if (spawn === true && count !== workers) {
    return [
      `sidecar.endpoint: lists ${count} endpoint(s) for ${workers} ` +
        'spawned worker(s); give one per worker, or none (private sockets)',
    ];
  }
  if (spawn === false && workers !== 1 && workers !== count) {
    return [
      `sidecar.workers: ${workers}, but sidecar.endpoint lists ${count}; ` +
        'when connecting there is one worker per endpoint',
    ];
  }
  return [];
}

function resolvePaths(cfg: ConfigData): ConfigData {
  cfg.sidecar.python = resolveCommand(cfg.sidecar.python);
  cfg.server.dataDir = resolveFromRoot(cfg.server.dataDir);
  cfg.model.checkpoint = resolveFromRoot(cfg.model.checkpoint);
  cfg.model.pretrained = resolveFromRoot(cfg.model.pretrained);
  cfg.detector.haarCascade = resolveFromRoot(cfg.detector.haarCascade)!;
  cfg.detector.res10Dir = resolveFromRoot(cfg.detector.res10Dir);
  return cfg;
}
