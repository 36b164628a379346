import { randomBytes, randomInt } from 'node:crypto';
import multipart from '@fastify/multipart';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
} from 'fastify';
import fp from 'fastify-plugin';
import { silentLogger, type Logger } from '../logging.ts';
import { isAppError } from '../errors.ts';
import type { Analyzer } from '../pipeline/analysis.ts';
import type { Sidecar } from '../sidecar/index.ts';
import { FileStore } from './files/file-store.ts';
import { faceAppSpec } from './gradio/app-spec.ts';
import { faceHandler } from './gradio/face-handler.ts';
import { gradioPlugin } from './gradio/plugin.ts';
import { EventQueue } from './gradio/queue.ts';
import { healthRoutes } from './health.ts';
import { clientErrorHandler, installJsonErrorHandler } from './http-errors.ts';
import { createMetrics, metricsPlugin, type Metrics } from './metrics.ts';
import { openapiPlugin } from './openapi.ts';
import { analyzeRoutes } from './rest/analyze-route.ts';
import type { ServerSettings } from './settings.ts';
import { sidecarPlugin } from './sidecar-plugin.ts';
import { uiRoutes } from './ui-routes.ts';

export interface AppDeps {
  settings: ServerSettings;
  analyzer: Analyzer;
  /** Closed with the server when given. */
  sidecar?: Sidecar;
  /** Default: no logging. */
  logger?: Logger;
  /** Default: a fresh registry. */
  metrics?: Metrics;
  /** Shown in the OpenAPI document. */
  version?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Gradio events running at once. Each is mostly waiting on the sidecar; the
 * predict micro-batcher turns concurrent events into batches.
 */
const GRADIO_CONCURRENCY = 16;
/** Sessions kept at most; idle ones are evicted first. */
const MIN_SESSIONS = 1000;
/** Messages buffered per session while it has no open stream. */
const MAX_BUFFERED_MESSAGES = 256;

/**
 * The message a Gradio caller sees for a failed event: the coded message
 * for anything but a bug (4xx, 503, 504), a generic one for 500s, which are
 * logged.
 */
function gradioErrorMessage(app: FastifyInstance) {
  return (err: unknown, eventId: string): string => {
    if (isAppError(err) && err.status !== 500) return err.message;
    app.log.error({ err, eventId }, 'gradio event failed');
    return 'Internal error';
  };
}

/**
 * Builds the HTTP server (Gradio protocol, REST, UI, health, metrics,
 * OpenAPI) without listening; tests drive it with `app.inject()`.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { settings, analyzer } = deps;
  const app = Fastify({
    loggerInstance: (deps.logger ?? silentLogger()) as FastifyBaseLogger,
    // Per-request lines are logged at debug level by our own hook.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'reqId',
    }),
    // Not `requestIdHeader`: fastify would take that header as it is; the
    // id is ours unless the given one is safe to echo and log.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given)
        ? given
        : randomBytes(8).toString('hex');
    },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
    // A client that stops sending mid-body must not hold a connection (and
    // its upload buffer) for ever: idle sockets are closed, and a request
    // still arriving after requestTimeoutMs is answered 408.
    connectionTimeout: settings.idleTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    clientErrorHandler,
  });
  installJsonErrorHandler(app);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      { url: req.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request done',
    );
  });

  const metrics = deps.metrics ?? createMetrics();
  const files = await FileStore.open({
    dataDir: settings.dataDir,
    ttlSeconds: settings.fileTtlSeconds,
    log: app.log.child({ component: 'files' }),
  });
  app.addHook('onClose', () => files.close());
  const queue = new EventQueue({
    maxSize: settings.queueMax,
    concurrency: Math.min(settings.queueMax, GRADIO_CONCURRENCY),
    sessionTtlMs: settings.sessionTtlSeconds * 1000,
    maxSessions: Math.max(MIN_SESSIONS, settings.queueMax * 16),
    maxBuffered: MAX_BUFFERED_MESSAGES,
    errorMessage: gradioErrorMessage(app),
  });

  if (deps.sidecar) {
    await app.register(sidecarPlugin, { sidecar: deps.sidecar });
  }
  await app.register(fp(metricsPlugin), {
    metrics,
    sources: {
      queueDepth: () => queue.depth(),
      sidecarRestarts: () => deps.sidecar?.restarts ?? 0,
      sidecarStats: async () =>
        deps.sidecar?.ready ? deps.sidecar.stats({ timeoutMs: 2000 }) : null,
    },
  });
  await app.register(multipart, {
    limits: {
      fileSize: settings.maxUploadBytes,
      files: settings.maxFilesPerRequest,
      fields: 16,
      fieldSize: 64 * 1024,
      parts: settings.maxFilesPerRequest + 16,
    },
  });
  await app.register(openapiPlugin, { version: deps.version ?? '0.0.0' });

  await app.register(healthRoutes, { analyzer });
  await app.register(analyzeRoutes, { analyzer, settings });
  await app.register(gradioPlugin, {
    spec: faceAppSpec(),
    handler: faceHandler({
      analyzer,
      files,
      maxUploadBytes: settings.maxUploadBytes,
    }),
    files,
    queue,
    settings,
    appId: randomInt(2 ** 47),
  });
  await app.register(uiRoutes);
  return app;
}
