/** How bad a finding is: `error` stops the server from starting. */
export type CheckStatus = 'ok' | 'warn' | 'error';

/** One finding of the doctor. */
export interface DoctorCheck {
  /** Short stable name, e.g. `torch`, `pretrained`, `detector`. */
  name: string;
  status: CheckStatus;
  /** What was found, for people. */
  detail: string;
  /** A command or setting that fixes it, when there is one. */
  fix?: string;
}

/** What the doctor found, as data (`npm run doctor -- --json` prints it). */
export interface DoctorReport {
  /** True when no check is an `error`. */
  ok: boolean;
  python: { path: string; version: string | null };
  /** Module versions in the configured interpreter; null when missing. */
  versions: Record<string, string | null>;
  cuda: { available: boolean; devices: string[] } | null;
  /** torch CPU threads before and after applying the configured count. */
  threads: { before: number; after: number; requested: number } | null;
  checks: DoctorCheck[];
  /** The distinct fixes of the failed checks, in order. */
  fixes: string[];
  durationMs: number;
}

/** The one command that installs every Python piece on Debian bookworm. */
export const APT_FIX =
  'sudo apt-get install -y python3-torch python3-torchvision python3-zmq ' +
  'python3-numpy python3-opencv opencv-data';
