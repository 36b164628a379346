import { sidecarSlice, type Config } from '../config/index.ts';
import { AppError } from '../errors.ts';
import { formatDoctorReport } from './format.ts';
import {
  checkCheckpoint,
  checkSidecarPackage,
  findInterpreter,
  missingInterpreter,
} from './files.ts';
import { probe, pythonError, type ProbeResult } from './python-probe.ts';
import type { DoctorCheck, DoctorReport } from './types.ts';

export interface DoctorOptions {
  /** Give up on the interpreter after this long, in ms. Default 120 s. */
  timeoutMs?: number;
  /** A missing checkpoint is an error (serving) instead of a warning. */
  requireCheckpoint?: boolean;
}

/**
 * Checks that the configured Python can run the sidecar: it imports torch,
 * torchvision, zmq, numpy and cv2 in that interpreter through pythonia and
 * reports versions, CUDA, torch threads before/after setting them, and
 * whether the pretrained weights, the face detector and the checkpoint are
 * usable. Never throws: every problem is a check with a fix. Never hangs:
 * after `timeoutMs` the interpreter is stopped and that is reported.
 * Not re-entrant (pythonia runs one interpreter per Node process).
 */
export async function runDoctor(
  config: Config,
  opts: DoctorOptions = {},
): Promise<DoctorReport> {
  const started = Date.now();
  const checks: DoctorCheck[] = [checkSidecarPackage()];
  const command = config.sidecar.python;
  const interpreter = findInterpreter(command);
  let probed: ProbeResult | null = null;
  if (interpreter === null) {
    checks.push(missingInterpreter(command));
  } else {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const threads = sidecarSlice(config).threads;
    const outcome = await withPythonia(interpreter, timeoutMs, (python) =>
      probe(python, config, threads),
    );
    if ('error' in outcome) checks.push(outcome.error);
    else probed = outcome.value;
  }
  checks.push(...(probed?.checks ?? []));
  checks.push(checkCheckpoint(config, opts.requireCheckpoint ?? false));
  const fixes = [
    ...new Set(checks.filter((c) => c.status !== 'ok').map((c) => c.fix)),
  ].filter((f): f is string => f !== undefined);
  return {
    ok: checks.every((c) => c.status !== 'error'),
    python: { path: interpreter ?? command, version: probed?.version ?? null },
    versions: probed?.versions ?? {},
    cuda: probed?.cuda ?? null,
    threads: probed?.threads ?? null,
    checks,
    fixes,
    durationMs: Date.now() - started,
  };
}

/**
 * Runs the doctor before starting the sidecar.
 * @returns the report when nothing is an error (warnings are allowed).
 * @throws AppError `ENVIRONMENT` whose message is the readable report and
 *   whose `details.report` is the report itself.
 */
export async function assertEnvironment(
  config: Config,
  opts: DoctorOptions = {},
): Promise<DoctorReport> {
  const report = await runDoctor(config, opts);
  if (report.ok) return report;
  const message = `The Python environment cannot run the sidecar:\n${formatDoctorReport(report)}`;
  throw new AppError('ENVIRONMENT', message, { details: { report } });
}

type Import = (module: string) => Promise<unknown>;

/**
 * Runs `work` with pythonia bound to `interpreter`, then stops the bridge's
 * Python process, whatever happened. pythonia starts its interpreter when
 * first imported and reads `PYTHON_BIN` (and `REQ_TIMEOUT`) then, or when
 * restarted after `python.exit()`; so both are set before each use.
 */
async function withPythonia<T>(
  interpreter: string,
  timeoutMs: number,
  work: (python: Import) => Promise<T>,
): Promise<{ value: T } | { error: DoctorCheck }> {
  process.env.PYTHON_BIN = interpreter;
  process.env.REQ_TIMEOUT = String(timeoutMs);
  const { python } = await import('pythonia');
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const running = work(python as Import);
  running.catch(() => {}); // may settle after the race is decided
  try {
    const first = await Promise.race([running, expired]);
    if (first === 'timeout') {
      const detail = `${interpreter} did not answer within ${timeoutMs} ms`;
      const fix = `check that this works: ${interpreter} -c 'import torch'`;
      return { error: { name: 'python', status: 'error', detail, fix } };
    }
    return { value: first };
  } catch (err: unknown) {
    const detail = `${interpreter} failed: ${pythonError(err)}`;
    return { error: { name: 'python', status: 'error', detail } };
  } finally {
    clearTimeout(timer);
    python.exit();
  }
}
