import type { FastifyInstance } from 'fastify';
import type { GradioPluginOptions } from './context.ts';
import { fileRoutes } from './routes-files.ts';
import { metaRoutes } from './routes-meta.ts';
import { queueRoutes } from './routes-queue.ts';

/**
 * Presents the app as a Gradio 6 server (see docs/gradio-protocol.md in
 * shared/): /config, /gradio_api/{info,upload,file=,queue/*,call/*,...}.
 */
export async function gradioPlugin(
  app: FastifyInstance,
  opts: GradioPluginOptions,
): Promise<void> {
  await app.register(metaRoutes, opts);
  await app.register(fileRoutes, opts);
  await app.register(queueRoutes, opts);
}
