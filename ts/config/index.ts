export { loadConfig, type Config, type LoadConfigOptions } from './load.ts';
export { DEFAULTS } from './defaults.ts';
export { ENDPOINT_PATTERN, parseEndpoints } from './endpoints.ts';
export {
  CONFIG_FILE_ENV,
  ENV_VARS,
  envVarsMarkdown,
  readEnv,
  type EnvKind,
  type EnvVar,
} from './env.ts';
export { repoRoot, resolveFromRoot } from './paths.ts';
export {
  configSchema,
  DETECTOR_KINDS,
  LOG_LEVELS,
  type ConfigData,
  type DetectorKind,
  type LogLevel,
} from './schema.ts';
export { sidecarSlice, type SidecarSlice } from './sidecar-slice.ts';
export type { DeepPartial, DeepReadonly } from './objects.ts';
