import { availableParallelism } from 'node:os';
import { parseEndpoints, type Config } from '../config/index.ts';
import { deepFreeze } from '../config/objects.ts';
import { AppError, isAppError } from '../errors.ts';
import { silentLogger } from '../logging.ts';
import { SidecarPool } from './pool.ts';
import {
  SidecarSupervisor,
  startSidecar,
  type SupervisorOptions,
} from './supervisor.ts';

/**
 * One config per model worker. Spawning (`sidecar.spawn`), there are
 * `sidecar.workers` workers, each on its own private socket or on its own
 * entry of `sidecar.endpoint`; with `sidecar.threads` 0 ("all cores") the
 * cores are shared out between them. Connecting, there is one worker per
 * entry of `sidecar.endpoint`. One worker: the config itself.
 * @throws AppError `CONFIG_INVALID` when a fixed endpoint list does not
 *   give one endpoint per spawned worker.
 */
export function workerConfigs(config: Config): Config[] {
  const { sidecar } = config;
  const endpoints = parseEndpoints(sidecar.endpoint);
  const spawned = sidecar.spawn && endpoints.length > 0;
  if (spawned && endpoints.length !== sidecar.workers) {
    throw new AppError(
      'CONFIG_INVALID',
      `sidecar.endpoint lists ${endpoints.length} endpoint(s) for ` +
        `${sidecar.workers} spawned worker(s)`,
    );
  }
  const count = workerCount(config);
  if (count === 1) return [config];
  const threads =
    sidecar.spawn && sidecar.threads === 0
      ? Math.max(1, Math.floor(availableParallelism() / count))
      : sidecar.threads;
  return Array.from({ length: count }, (_, i) =>
    deepFreeze({
      ...config,
      sidecar: {
        ...sidecar,
        endpoint: endpoints[i] ?? null,
        workers: 1,
        threads,
      },
    }),
  );
}

/**
 * How many model workers the config asks for: `sidecar.workers` when
 * spawning, the number of endpoints when connecting. Give it to the predict
 * micro-batcher as `maxInFlight`, so batches reach every worker at once.
 */
export function workerCount(config: Config): number {
  const { sidecar } = config;
  if (sidecar.spawn) return sidecar.workers;
  return Math.max(1, parseEndpoints(sidecar.endpoint).length);
}

/**
 * Starts what the config asks for: a plain {@link SidecarSupervisor} for one
 * worker (one endpoint, or `sidecar.workers` = 1), otherwise a
 * {@link SidecarPool} over one supervisor per worker, each logging with a
 * `worker` field. Every worker must start: if one fails the others are
 * closed and its error is thrown, its message prefixed with the worker.
 * @throws what {@link SidecarSupervisor.start} throws, and `CONFIG_INVALID`
 *   (see {@link workerConfigs}).
 */
export async function createSidecar(
  config: Config,
  opts: SupervisorOptions = {},
): Promise<SidecarSupervisor | SidecarPool> {
  const configs = workerConfigs(config);
  if (configs.length === 1) return startSidecar(config, opts);
  const logger = opts.logger ?? silentLogger();
  const members = configs.map(
    (c, worker) =>
      new SidecarSupervisor(c, { ...opts, logger: logger.child({ worker }) }),
  );
  const started = await Promise.allSettled(members.map((m) => m.start()));
  const failed = started.findIndex((s) => s.status === 'rejected');
  if (failed >= 0) {
    await Promise.all(members.map((m) => m.close()));
    const { reason } = started[failed] as PromiseRejectedResult;
    throw workerError(reason, failed, configs[failed]);
  }
  const { callTimeoutMs } = config.sidecar;
  logger.info({ workers: members.length }, 'model worker pool ready');
  return new SidecarPool(members, { logger, callTimeoutMs });
}

function workerError(err: unknown, worker: number, config: Config): unknown {
  if (!isAppError(err)) return err;
  const endpoint = config.sidecar.endpoint;
  const where = endpoint ? ` (${endpoint})` : '';
  return new AppError(
    err.code,
    `Model worker ${worker}${where}: ${err.message}`,
    { cause: err, details: { ...err.details, worker, endpoint } },
  );
}
