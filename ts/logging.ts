import { destination, pino, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from './config/index.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level: LogLevel;
  /** Human-readable output; default: stdout is a TTY and this is no test. */
  pretty?: boolean;
  /** Fields bound to every line, e.g. `{ component: 'train' }`. */
  base?: Record<string, unknown>;
  /**
   * Write to stderr instead of stdout: for commands whose stdout is their
   * result (`evaluate` prints JSON there).
   */
  stderr?: boolean;
}

/**
 * The one logger factory. Structured JSON on stdout, pretty-printed only for
 * an interactive terminal; never pretty under vitest, whose output is
 * captured.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { pid: process.pid, ...settings.base },
  };
  const stream = settings.stderr ? process.stderr : process.stdout;
  if (settings.pretty ?? defaultPretty(stream)) {
    options.transport = {
      target: 'pino-pretty',
      options: {
        colorize: true,
        translateTime: 'SYS:HH:MM:ss.l',
        destination: settings.stderr ? 2 : 1,
      },
    };
    return pino(options);
  }
  return pino(options, settings.stderr ? destination(2) : undefined);
}

/** A logger that drops everything; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function defaultPretty(stream: NodeJS.WriteStream): boolean {
  const inTest =
    process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';
  return Boolean(stream.isTTY) && !inTest;
}
