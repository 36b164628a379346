import { DETECTOR_KINDS, LOG_LEVELS } from './schema.ts';

/** How an environment variable's text becomes a config value. */
export type EnvKind = 'int' | 'string' | 'path' | 'nullable-path' | 'endpoint';

/** One environment variable the service reads. */
export interface EnvVar {
  /** The variable's name, e.g. `PORT`. */
  readonly env: string;
  /** The dotted config key it sets, e.g. `server.port`. */
  readonly key: string;
  /** The default as text, for the README. */
  readonly default: string;
  readonly description: string;
  readonly kind: EnvKind;
}

/** The config file variable; read before the others, it sets no key. */
export const CONFIG_FILE_ENV = 'FACEATTR_CONFIG';

/**
 * Every environment variable, as data, so the README table is generated from
 * the same list the loader applies. Order is the README's order.
 */
export const ENV_VARS: readonly EnvVar[] = [
  {
    env: 'PORT',
    key: 'server.port',
    default: '7860',
    description: 'HTTP port of the web service.',
    kind: 'int',
  },
  {
    env: 'HOST',
    key: 'server.host',
    default: '127.0.0.1',
    description: 'Interface to listen on (0.0.0.0 in a container).',
    kind: 'string',
  },
  {
    env: 'FACEATTR_PYTHON',
    key: 'sidecar.python',
    default: '/usr/bin/python3',
    description: 'Python interpreter that runs the sidecar.',
    kind: 'path',
  },
  {
    env: 'FACEATTR_THREADS',
    key: 'sidecar.threads',
    default: '0',
    description: 'Torch CPU threads in the sidecar; 0 means all cores.',
    kind: 'int',
  },
  {
    env: 'FACEATTR_DEVICE',
    key: 'sidecar.device',
    default: 'auto',
    description: 'Torch device: auto, cpu or cuda.',
    kind: 'string',
  },
  {
    env: 'FACEATTR_SIDECAR_ENDPOINT',
    key: 'sidecar.endpoint',
    default: '(none)',
    description:
      'Connect to sidecars started elsewhere instead of spawning them: ' +
      'one endpoint (tcp://model:5555) or a comma-separated list, one ' +
      'model worker each; sets sidecar.spawn to false.',
    kind: 'endpoint',
  },
  {
    env: 'FACEATTR_WORKERS',
    key: 'sidecar.workers',
    default: '1',
    description:
      'Sidecars to spawn; calls go to the least busy. Training needs 1.',
    kind: 'int',
  },
  {
    env: 'FACEATTR_MODEL',
    key: 'model.checkpoint',
    default: 'models/default/model.pt',
    description: 'Checkpoint to serve (its model card sits beside it).',
    kind: 'nullable-path',
  },
  {
    env: 'FACEATTR_PRETRAINED',
    key: 'model.pretrained',
    default: '../shared/weights/…/mobilenet_v2_imagenet_torchvision.pth',
    description:
      'ImageNet mobilenet_v2 weights for a fresh model; empty for none.',
    kind: 'nullable-path',
  },
  {
    env: 'FACEATTR_DETECTOR',
    key: 'detector.kind',
    default: 'haar',
    description: `Face detector: ${DETECTOR_KINDS.join(' or ')}.`,
    kind: 'string',
  },
  {
    env: 'FACEATTR_RES10_DIR',
    key: 'detector.res10Dir',
    default: '(none)',
    description: 'Folder with the OpenCV Res10-SSD face detector files.',
    kind: 'nullable-path',
  },
  {
    env: 'FACEATTR_LOG_LEVEL',
    key: 'log.level',
    default: 'info',
    description: `Log level: ${LOG_LEVELS.join(', ')}.`,
    kind: 'string',
  },
  {
    env: 'FACEATTR_DATA_DIR',
    key: 'server.dataDir',
    default: '(temp dir)',
    description: 'Where the server keeps uploaded and generated files.',
    kind: 'nullable-path',
  },
];

/** The variables' effect: a partial config plus the errors met reading it. */
export interface EnvOverlay {
  overlay: Record<string, unknown>;
  errors: string[];
}

/**
 * Turns environment variables into a nested partial config. Unset and empty
 * variables are skipped, except that an empty nullable path means `null`.
 * Bad values are reported, not thrown, so every error can be listed at once.
 */
export function readEnv(env: NodeJS.ProcessEnv): EnvOverlay {
  const overlay: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const v of ENV_VARS) {
    const raw = env[v.env];
    if (raw === undefined) continue;
    const text = raw.trim();
    if (text === '' && v.kind !== 'nullable-path') continue;
    const value = parseValue(v.kind, text);
    if (value instanceof Error) {
      errors.push(`${v.env}: ${value.message} (got "${raw}")`);
      continue;
    }
    setPath(overlay, v.key, value);
    if (v.kind === 'endpoint') setPath(overlay, 'sidecar.spawn', false);
  }
  return { overlay, errors };
}

function parseValue(kind: EnvKind, text: string): unknown {
  switch (kind) {
    case 'int':
      return /^-?\d+$/.test(text)
        ? Number(text)
        : new Error('expected an integer');
    case 'nullable-path':
      return text === '' ? null : text;
    default:
      return text;
  }
}

function setPath(target: Record<string, unknown>, key: string, value: unknown) {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** The env table as Markdown, for the README. */
export function envVarsMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const row = (env: string, key: string, def: string, text: string) =>
    line([`\`${env}\``, `\`${key}\``, cell(def), cell(text)]);
  return [
    line(['Variable', 'Config key', 'Default', 'Meaning']),
    line(['---', '---', '---', '---']),
    row(CONFIG_FILE_ENV, '(file)', '(none)', 'JSON config file, read first.'),
    ...ENV_VARS.map((v) => row(v.env, v.key, v.default, v.description)),
  ].join('\n');
}
