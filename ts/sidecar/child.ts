import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../logging.ts';
import { LogRelay } from './log-relay.ts';
import type { SidecarExit } from './types.ts';

/** How to run the sidecar process. */
export interface ChildCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** A running sidecar process, its output relay and its exit. */
export class SidecarChild {
  readonly process: ChildProcess;
  readonly relay: LogRelay;
  /** Settles once, when the process exits or fails to start. */
  readonly exited: Promise<SidecarExit>;
  /** Settles when the output streams are closed too (all lines read). */
  readonly closed: Promise<void>;
  #exit: SidecarExit | null = null;

  constructor(command: ChildCommand, log: Logger) {
    this.relay = new LogRelay(log);
    this.process = spawn(command.file, command.args, {
      env: command.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.relay.attach(this.process.stdout!, 'info');
    this.relay.attach(this.process.stderr!, 'warn');
    this.closed = new Promise((resolve) => {
      this.process.once('close', () => resolve());
    });
    this.exited = new Promise((resolve) => {
      const done = (exit: SidecarExit) => {
        if (this.#exit) return;
        this.#exit = exit;
        resolve(exit);
      };
      this.process.once('exit', (code, signal) => done({ code, signal }));
      // A failed spawn (ENOENT, EACCES) emits 'error' and may never 'exit'.
      this.process.once('error', (err) => {
        log.error({ err, file: command.file }, 'sidecar failed to start');
        done({ code: null, signal: null });
      });
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The exit, once it happened; null while running. */
  get exit(): SidecarExit | null {
    return this.#exit;
  }

  /** Sends a signal if the process still runs. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit === null) this.process.kill(signal);
  }

  /**
   * Waits up to `graceMs` for a voluntary exit, then SIGTERM, then SIGKILL
   * after another `graceMs`.
   */
  async stop(graceMs: number): Promise<SidecarExit> {
    if (await this.#exitsWithin(graceMs)) return this.#exit!;
    this.kill('SIGTERM');
    if (await this.#exitsWithin(graceMs)) return this.#exit!;
    this.kill('SIGKILL');
    return this.exited;
  }

  /** Lines printed just before the exit, for error reports (≤ `ms` wait). */
  async tail(ms = 500): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([this.closed, late]);
    clearTimeout(timer);
    return this.relay.tail;
  }

  async #exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
    return this.#exit !== null;
  }
}
