import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { loadConfig, repoRoot, type Config } from './config/index.ts';
import { createLogger, type Logger } from './logging.ts';
import { FacePipeline, pipelineSettings } from './pipeline/analyze.ts';
import { PredictBatcher } from './pipeline/predict-batcher.ts';
import { buildApp } from './serve/app.ts';
import { createMetrics, type Metrics } from './serve/metrics.ts';
import { createSidecar, workerCount, type Sidecar } from './sidecar/index.ts';

export interface ServeOptions {
  /** Default: loadConfig() (defaults, $FACEATTR_CONFIG, environment). */
  config?: Config;
  logger?: Logger;
  /**
   * Development only: when no checkpoint is loaded, serve a freshly built
   * model (random heads) so the UI and APIs can be exercised.
   */
  randomModel?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  sidecar: Sidecar;
  url: string;
  close(): Promise<void>;
}

function packageVersion(): string {
  const pkg = JSON.parse(
    readFileSync(`${repoRoot()}/package.json`, 'utf8'),
  ) as { version: string };
  return pkg.version;
}

async function ensureModel(
  sidecar: Sidecar,
  config: Config,
  options: ServeOptions,
  log: Logger,
): Promise<void> {
  if (sidecar.card) {
    log.info(
      { model: sidecar.card.name, version: sidecar.card.version },
      'model loaded',
    );
    return;
  }
  if (!options.randomModel) {
    log.warn(
      { checkpoint: config.model.checkpoint },
      'no model loaded: /readyz answers 503 until one is',
    );
    return;
  }
  const result = await sidecar.loadModel({
    arch: {
      backbone: 'mobilenet_v2',
      output_stride: 16,
      adapter_channels: 128,
    },
    input_size: 96,
    pretrained: config.model.pretrained,
  });
  log.warn(
    { warnings: result.warnings },
    'serving an UNTRAINED model (--random-model)',
  );
}

/** Connects the batcher's per-batch report to the inference metrics. */
function batcherFor(sidecar: Sidecar, config: Config, metrics: Metrics) {
  return new PredictBatcher(
    (images, explain) => sidecar.predict(images, explain),
    {
      maxSize: config.sidecar.batchMaxSize,
      maxInFlight: workerCount(config),
      waitMs: config.sidecar.batchWaitMs,
      onBatch: ({ faces, seconds, explain }) => {
        metrics.inference.observe({ explain }, seconds);
        metrics.batchSize.observe(faces);
      },
    },
  );
}

/**
 * The server for a started sidecar, not listening: metrics, the predict
 * micro-batcher, the face pipeline and the HTTP app. Closing the app closes
 * the sidecar.
 */
export async function createServerApp(
  config: Config,
  sidecar: Sidecar,
  logger?: Logger,
): Promise<FastifyInstance> {
  const metrics = createMetrics();
  const batcher = batcherFor(sidecar, config, metrics);
  const analyzer = new FacePipeline(
    sidecar,
    (images, explain) => batcher.predict(images, explain),
    pipelineSettings(config),
    (stage, seconds) => metrics.stages.observe({ stage }, seconds),
  );
  return buildApp({
    settings: config.server,
    analyzer,
    sidecar,
    logger,
    metrics,
    version: packageVersion(),
  });
}

/**
 * The composition root: config → logger → sidecar → pipeline → server,
 * listening on `server.host:server.port`. Closing the server closes the
 * sidecar (a plugin's onClose hook).
 */
export async function serve(
  options: ServeOptions = {},
): Promise<RunningServer> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const sidecar = await createSidecar(config, { logger });
  let app: FastifyInstance | null = null;
  try {
    await ensureModel(sidecar, config, options, logger);
    app = await createServerApp(config, sidecar, logger);
    const url = await app.listen({
      host: config.server.host,
      port: config.server.port,
    });
    const { kind, scaleFactor, coarseScaleFactor, maxSide, minFaceFraction } =
      config.detector;
    const detector = {
      kind,
      scaleFactor,
      coarseScaleFactor,
      maxSide,
      minFaceFraction,
    };
    logger.info({ url, detector }, 'listening');
    const running = app;
    return { app: running, sidecar, url, close: () => running.close() };
  } catch (err: unknown) {
    if (app) await app.close();
    else await sidecar.close();
    throw err;
  }
}

/** Closes the server on SIGINT/SIGTERM; a second signal exits at once. */
export function closeOnSignals(server: RunningServer, log: Logger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
