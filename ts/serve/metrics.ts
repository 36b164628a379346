import type { FastifyInstance } from 'fastify';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';

/** Prometheus metrics of one server instance (own registry: tests build many). */
export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route' | 'status'>;
  inference: Histogram<'explain'>;
  batchSize: Histogram<string>;
  stages: Histogram<'stage'>;
}

export interface MetricSources {
  queueDepth(): number;
  sidecarRestarts(): number;
  /** The model process's report; null when there is none to ask. */
  sidecarStats(): Promise<{
    rss_bytes: number;
    hooks: Partial<Record<string, number>>;
    cpu_seconds?: number;
  } | null>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'faceattr_' });
  return {
    registry,
    requests: new Counter({
      name: 'faceattr_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'faceattr_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inference: new Histogram({
      name: 'faceattr_inference_seconds',
      help: 'Time of one predict batch in the sidecar',
      labelNames: ['explain'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'faceattr_inference_batch_faces',
      help: 'Faces per predict batch',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    stages: new Histogram({
      name: 'faceattr_pipeline_stage_seconds',
      help:
        'Wall time of each step of an analysis ' +
        '(decode, detect, crop, predict incl. queueing, render)',
      labelNames: ['stage'],
      buckets: [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
      ],
      registers: [registry],
    }),
  };
}

/** Request counting and GET /metrics; gauges read their sources on scrape. */
export async function metricsPlugin(
  app: FastifyInstance,
  opts: { metrics: Metrics; sources: MetricSources },
): Promise<void> {
  const { metrics, sources } = opts;
  new Gauge({
    name: 'faceattr_gradio_queue_depth',
    help: 'Gradio events waiting or running',
    registers: [metrics.registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: 'faceattr_sidecar_restarts',
    help: 'Times the model process was restarted',
    registers: [metrics.registry],
    collect() {
      this.set(sources.sidecarRestarts());
    },
  });

  new Gauge({
    name: 'faceattr_sidecar_resident_memory_bytes',
    help: 'Resident memory of the model process (absent when unknown)',
    registers: [metrics.registry],
    async collect() {
      const stats = await sources.sidecarStats().catch(() => null);
      if (stats) this.set(stats.rss_bytes);
    },
  });
  new Gauge({
    name: 'faceattr_sidecar_cpu_seconds',
    help:
      'CPU seconds used by the running model processes (user + system, summed over workers); ' +
      'a gauge: it starts again from zero when a process is restarted',
    registers: [metrics.registry],
    async collect() {
      const stats = await sources.sidecarStats().catch(() => null);
      if (stats?.cpu_seconds !== undefined) this.set(stats.cpu_seconds);
    },
  });
  new Gauge({
    name: 'faceattr_sidecar_gradcam_hooks',
    help: 'Live Grad-CAM hooks in the model process; flat when healthy',
    registers: [metrics.registry],
    async collect() {
      const stats = await sources.sidecarStats().catch(() => null);
      const total = Object.values(stats?.hooks ?? {}).reduce<number>(
        (a, b) => a + (b ?? 0),
        0,
      );
      if (stats) this.set(total);
    },
  });

  app.addHook('onResponse', async (req, reply) => {
    const labels = {
      method: req.method,
      route: req.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    metrics.requests.inc(labels);
    metrics.latency.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
