import { delimiter, join } from 'node:path';
import {
  repoRoot,
  sidecarSlice,
  type Config,
  type LogLevel,
} from '../config/index.ts';
import type { ChildCommand } from './child.ts';

/** The sidecar's `--log-level` for each of ours. */
const PYTHON_LOG_LEVEL: Record<LogLevel, string> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
  silent: 'error',
};

/**
 * `<sidecar.python> -m faceattr --endpoint <endpoint> --config-json <slice>
 * --log-level <level> --exit-with-parent`, with `<repo>/python` first on PYTHONPATH.
 */
export function pythonCommand(config: Config, endpoint: string): ChildCommand {
  const json = JSON.stringify(sidecarSlice(config));
  const level = PYTHON_LOG_LEVEL[config.log.level];
  const pythonPath = [join(repoRoot(), 'python'), process.env.PYTHONPATH]
    .filter(Boolean)
    .join(delimiter);
  return {
    file: config.sidecar.python,
    args: [
      ...['-m', 'faceattr', '--endpoint', endpoint],
      ...['--config-json', json, '--log-level', level],
      // Stop if this process dies without closing it (SIGKILL, a crash).
      '--exit-with-parent',
    ],
    env: {
      ...process.env,
      PYTHONPATH: pythonPath,
      PYTHONUNBUFFERED: '1',
      // Idle OpenMP threads sleep instead of spinning. Measured (`npm run
      // bench`): the sidecar's CPU per request 84-87 → 67 ms at the same
      // latency, CPU the server's own threads can use. A value set by the
      // user wins.
      OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
    },
  };
}
