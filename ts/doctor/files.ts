import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoRoot, type Config } from '../config/index.ts';
import { PROTOCOL_VERSION } from '../protocol/index.ts';
import { APT_FIX, type DoctorCheck } from './types.ts';

/** The interpreter's absolute path, looked up on PATH if bare; null if none. */
export function findInterpreter(command: string): string | null {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, command));
  return candidates.find(isExecutable) ?? null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The sidecar package the supervisor runs with `-m faceattr`. */
export function checkSidecarPackage(): DoctorCheck {
  const main = join(repoRoot(), 'python/faceattr/__main__.py');
  return existsSync(main)
    ? { name: 'sidecar', status: 'ok', detail: main }
    : { name: 'sidecar', status: 'error', detail: `${main} is missing` };
}

/**
 * The served checkpoint and its model card beside it.
 * @param required an error rather than a warning when missing (serving).
 */
export function checkCheckpoint(
  config: Config,
  required: boolean,
): DoctorCheck {
  const path = config.model.checkpoint;
  const missing = required ? 'error' : 'warn';
  const fix = 'npm run train, or set FACEATTR_MODEL to a checkpoint';
  if (path === null) {
    return {
      name: 'checkpoint',
      status: missing,
      detail: 'none configured',
      fix,
    };
  }
  if (!existsSync(path)) {
    return {
      name: 'checkpoint',
      status: missing,
      detail: `${path} not found`,
      fix,
    };
  }
  const cardPath = path.replace(/\.pt$/, '') + '.json';
  try {
    const card = JSON.parse(readFileSync(cardPath, 'utf8')) as {
      protocol?: number;
      name?: string;
    };
    if (card.protocol !== PROTOCOL_VERSION) {
      const detail = `${cardPath}: protocol ${card.protocol}, expected ${PROTOCOL_VERSION}`;
      return { name: 'checkpoint', status: 'error', detail, fix };
    }
    return {
      name: 'checkpoint',
      status: 'ok',
      detail: `${path} (${card.name})`,
    };
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    const detail = `model card ${cardPath} unreadable: ${why}`;
    return { name: 'checkpoint', status: 'error', detail, fix };
  }
}

/** When no interpreter can be found at all. */
export function missingInterpreter(command: string): DoctorCheck {
  return {
    name: 'python',
    status: 'error',
    detail: `${command} not found or not executable`,
    fix: `${APT_FIX}  (or set FACEATTR_PYTHON)`,
  };
}
