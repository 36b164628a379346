import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** A multipart/raw request body the route itself parses (no validation). */
const analyzeBody = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['image'],
        properties: { image: { type: 'string', format: 'binary' } },
      },
    },
    'image/*': { schema: { type: 'string', format: 'binary' } },
    'application/octet-stream': {
      schema: { type: 'string', format: 'binary' },
    },
  },
};

type OpenApiDoc = {
  paths?: Record<string, Record<string, Record<string, unknown>>>;
};

/**
 * A copy of the document without `format: 'unsafe'`, a serializer hint
 * (write the string unescaped) that means nothing to OpenAPI readers.
 */
function withoutUnsafeFormat(doc: unknown): unknown {
  return JSON.parse(JSON.stringify(doc), (key, value: unknown) =>
    key === 'format' && value === 'unsafe' ? undefined : value,
  );
}

/** The OpenAPI document at /docs/json and its page at /docs. */
async function openapi(app: FastifyInstance, opts: { version: string }) {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Face attributes',
        description:
          'Gender and smile per face, with Grad-CAM explanations. The same ' +
          'server also speaks the Gradio protocol (/config, /gradio_api/*).',
        version: opts.version,
      },
      tags: [
        { name: 'analyze', description: 'Face analysis' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    transformObject: (documents) => {
      const doc = withoutUnsafeFormat(
        'openapiObject' in documents
          ? documents.openapiObject
          : documents.swaggerObject,
      ) as OpenApiDoc;
      const post = doc.paths?.['/api/v1/analyze']?.post;
      if (post) post.requestBody = analyzeBody;
      return doc as never;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

export const openapiPlugin = fp(openapi, { name: 'faceattr-openapi' });
