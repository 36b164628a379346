import type { FastifyInstance } from 'fastify';
import type { Analyzer } from '../pipeline/analysis.ts';

const statusSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    model: {
      type: ['object', 'null'],
      properties: { name: { type: 'string' }, version: { type: 'string' } },
    },
    reason: { type: 'string' },
  },
};

/** GET /healthz (the process answers) and GET /readyz (the model can serve). */
export async function healthRoutes(
  app: FastifyInstance,
  opts: { analyzer: Analyzer },
): Promise<void> {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], response: { 200: statusSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        response: { 200: statusSchema, 503: statusSchema },
      },
    },
    async (_req, reply) => {
      const s = opts.analyzer.status();
      if (s.ready && s.model) return { status: 'ready', model: s.model };
      return reply.code(503).send({
        status: 'not_ready',
        model: s.model,
        reason: s.reason ?? 'the model is not loaded',
      });
    },
  );
}
