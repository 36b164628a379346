import type { ServerSettings } from '../settings.ts';
import type { FileStore } from '../files/file-store.ts';
import type { GradioAppSpec } from './app-spec.ts';
import type { EventQueue, JobContext } from './queue.ts';

export interface CallContext extends JobContext {
  /** Base URL for output file URLs. */
  root: string;
}

/** The app's functions, by dependency id (fn_index). */
export type GradioHandler = (
  fnIndex: number,
  data: unknown[],
  ctx: CallContext,
) => Promise<unknown[]>;

export interface GradioPluginOptions {
  spec: GradioAppSpec;
  handler: GradioHandler;
  files: FileStore;
  queue: EventQueue;
  settings: ServerSettings;
  /** Random per process; `reconnect()` compares it. */
  appId: number;
}
