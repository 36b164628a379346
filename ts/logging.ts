import { pino, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from './config/index.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level: LogLevel;
  /** Human-readable output; default: stdout is a TTY and this is no test. */
  pretty?: boolean;
  /** Fields bound to every line, e.g. `{ component: 'train' }`. */
  base?: Record<string, unknown>;
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
  if (settings.pretty ?? defaultPretty()) {
    options.transport = {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
    };
  }
  return pino(options);
}

/** A logger that drops everything; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function defaultPretty(): boolean {
  const inTest =
    process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';
  return Boolean(process.stdout.isTTY) && !inTest;
}
