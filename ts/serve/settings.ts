import { DEFAULTS } from '../config/index.ts';

/**
 * The `server.*` slice of the configuration, as the HTTP layer reads it.
 * Mirrors `configs/default.json`; the config module validates it.
 */
export interface ServerSettings {
  host: string;
  port: number;
  /** Public base URL (`https://faces.example.org`); null: from Host headers. */
  publicUrl: string | null;
  /** Largest accepted upload, in bytes (per file and per raw body). */
  maxUploadBytes: number;
  /** Most files in one multipart upload. */
  maxFilesPerRequest: number;
  /** Largest accepted image, in pixels (width × height, from the header). */
  maxPixels: number;
  /** Smallest accepted image side, in pixels. */
  minSide: number;
  /** Uploaded and generated files are deleted this long after writing. */
  fileTtlSeconds: number;
  /** Where uploads and outputs live; null: a private temp directory. */
  dataDir: string | null;
  /** Most Gradio events waiting or running at once; beyond it: 503. */
  queueMax: number;
  /** A Gradio session with nothing pending is dropped after this long. */
  sessionTtlSeconds: number;
  /** Interval of heartbeat messages on open event streams. */
  heartbeatSeconds: number;
  /** A connection with no bytes in or out for this long is closed (a stalled upload). */
  idleTimeoutMs: number;
  /** Longest time a client may take to send one whole request; then 408. */
  requestTimeoutMs: number;
}

export const DEFAULT_SERVER_SETTINGS: Readonly<ServerSettings> = Object.freeze({
  ...DEFAULTS.server,
});
