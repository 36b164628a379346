import type { FastifyInstance } from 'fastify';
import { publicRoot } from '../root-url.ts';
import type { GradioPluginOptions } from './context.ts';
import { API_PREFIX, buildConfig, buildInfo } from './documents.ts';

const hidden = { schema: { hide: true } };

/** /config, /gradio_api/info and /gradio_api/app_id. */
export async function metaRoutes(
  app: FastifyInstance,
  opts: GradioPluginOptions,
): Promise<void> {
  // connect() fetches /info twice and every call needs it: build it once.
  const info = buildInfo(opts.spec);
  const maxFileSize = opts.settings.maxUploadBytes;

  app.get('/config', hidden, async (req) =>
    buildConfig(opts.spec, {
      root: publicRoot(req, opts.settings.publicUrl),
      appId: opts.appId,
      maxFileSize,
    }),
  );
  app.get(`${API_PREFIX}/info`, hidden, async () => info);
  app.get(`${API_PREFIX}/app_id`, hidden, async () => ({ app_id: opts.appId }));
}
