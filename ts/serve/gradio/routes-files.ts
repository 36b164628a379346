import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../../errors.ts';
import { multipartError, toAppError } from '../http-errors.ts';
import { sniffImageType } from '../files/sniff.ts';
import type { GradioPluginOptions } from './context.ts';
import { API_PREFIX } from './documents.ts';

const FILE_ROUTE = 'file=';

/** POST /gradio_api/upload and GET /gradio_api/file=<path>. */
export async function fileRoutes(
  app: FastifyInstance,
  opts: GradioPluginOptions,
): Promise<void> {
  const { files } = opts;

  app.post(
    `${API_PREFIX}/upload`,
    { schema: { hide: true } },
    async (req, reply) => {
      if (!req.isMultipart()) {
        return reply.code(400).type('text/plain').send('Invalid content type.');
      }
      try {
        const saved: string[] = [];
        for await (const part of req.parts()) {
          if (part.type !== 'file') continue;
          const data = await part.toBuffer();
          saved.push((await files.saveUpload(data)).path);
        }
        return saved;
      } catch (err: unknown) {
        // Gradio answers upload failures with a plain-text body.
        const appErr = multipartError(err);
        req.log.info({ code: appErr.code }, 'upload refused');
        return reply
          .code(appErr.status)
          .type('text/plain')
          .send(appErr.message);
      }
    },
  );

  app.get(`${API_PREFIX}/*`, { schema: { hide: true } }, (req, reply) =>
    serveFile(req, reply, opts),
  );

  async function serveFile(
    req: FastifyRequest,
    reply: FastifyReply,
    o: GradioPluginOptions,
  ): Promise<FastifyReply> {
    const rest = (req.params as { '*': string })['*'];
    if (!rest.startsWith(FILE_ROUTE)) {
      return reply.code(404).send({ detail: 'Not Found' });
    }
    try {
      const real = await o.files.resolve(rest.slice(FILE_ROUTE.length));
      return await sendFile(reply, real);
    } catch (err: unknown) {
      const appErr = toAppError(err);
      return reply.code(appErr.status).send(errorBody(appErr));
    }
  }
}

/**
 * Sends a stored file. Images we can name from their bytes go inline;
 * anything else (HTML, SVG, text...) only as an attachment, and never
 * sniffable, so an upload cannot run script in our origin.
 */
async function sendFile(
  reply: FastifyReply,
  real: string,
): Promise<FastifyReply> {
  const data = await readFile(real);
  const mime = sniffImageType(data.subarray(0, 64));
  reply
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cache-control', 'private, max-age=3600');
  if (mime) {
    reply.type(mime).header('content-disposition', 'inline');
  } else {
    reply
      .type('application/octet-stream')
      .header('content-disposition', 'attachment; filename="download.bin"');
  }
  return reply.send(data);
}
