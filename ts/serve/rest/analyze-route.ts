import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.ts';
import { multipartError } from '../http-errors.ts';
import type {
  Analyzer,
  Explanation,
  FaceAnalysis,
  ImageAnalysis,
  Task,
} from '../../pipeline/analysis.ts';
import type { ServerSettings } from '../settings.ts';
import {
  analyzeQuerySchema,
  analyzeResponseSchema,
  errorSchema,
} from './analyze-schema.ts';

export interface RestOptions {
  analyzer: Analyzer;
  settings: ServerSettings;
}

type ExplainParam = 'none' | 'gender' | 'smile' | 'both';

const EXPLAIN: Record<ExplainParam, Task[]> = {
  none: [],
  gender: ['gender'],
  smile: ['smile'],
  both: ['gender', 'smile'],
};

const round = (p: number) => Math.round(p * 1e6) / 1e6;

function explanationJson(e: Explanation) {
  return {
    explained_label: e.explainedLabel,
    png: `data:image/png;base64,${e.png.toString('base64')}`,
    flat: e.flat,
  };
}

function faceJson(f: FaceAnalysis) {
  const explanations: Record<string, unknown> = {};
  for (const [task, e] of Object.entries(f.explanations)) {
    if (e) explanations[task] = explanationJson(e);
  }
  return {
    box: [f.box.x, f.box.y, f.box.w, f.box.h].map(Math.round),
    score: round(f.score),
    whole_image: f.wholeImage,
    gender: { label: f.gender.label, probability: round(f.gender.probability) },
    smile: { label: f.smile.label, probability: round(f.smile.probability) },
    explanations,
  };
}

export function analysisJson(result: ImageAnalysis) {
  const { image } = result;
  return {
    faces: result.faces.map(faceJson),
    image: {
      width: image.width,
      height: image.height,
      orientation_applied: image.orientationApplied,
      ...(image.frames > 1 ? { frames: image.frames } : {}),
    },
    model: result.model,
  };
}

/** The image bytes: multipart field `image`, or the raw body. */
async function imageBytes(req: FastifyRequest): Promise<Buffer> {
  if (req.isMultipart()) {
    let image: Buffer | null = null;
    try {
      for await (const part of req.parts()) {
        if (part.type !== 'file') continue;
        if (image !== null) {
          // Read to the end and dropped: answering before the client has
          // sent the rest would leave it waiting on a full socket.
          for await (const chunk of part.file) void chunk;
          continue;
        }
        // Other files must still be read, or the parser stalls.
        const data = await part.toBuffer();
        if (part.fieldname === 'image') image = data;
      }
    } catch (err: unknown) {
      throw multipartError(err);
    }
    if (image !== null) return image;
    throw new AppError('MISSING_IMAGE', 'No multipart field named "image"');
  }
  if (Buffer.isBuffer(req.body)) return req.body;
  throw new AppError('MISSING_IMAGE');
}

/** Aborts when the client goes away before the answer is sent. */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** POST /api/v1/analyze: every face with both labels, maps on request. */
export async function analyzeRoutes(
  app: FastifyInstance,
  opts: RestOptions,
): Promise<void> {
  const bodyLimit = opts.settings.maxUploadBytes;
  const raw = { parseAs: 'buffer' as const, bodyLimit };
  const keep = (
    _req: unknown,
    body: Buffer,
    done: (e: null, b: Buffer) => void,
  ) => done(null, body);
  app.addContentTypeParser(/^image\/[\w.+-]+$/, raw, keep);
  app.addContentTypeParser('application/octet-stream', raw, keep);

  app.post<{ Querystring: { explain: ExplainParam } }>(
    '/api/v1/analyze',
    {
      bodyLimit,
      schema: {
        summary: 'Detect faces and classify gender and smile',
        description:
          'Send the image as multipart field `image`, or as the raw body ' +
          'with an image/* (or application/octet-stream) content type.',
        tags: ['analyze'],
        querystring: analyzeQuerySchema,
        response: {
          200: analyzeResponseSchema,
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (req, reply) => {
      const image = await imageBytes(req);
      const result = await opts.analyzer.analyze(image, {
        explain: EXPLAIN[req.query.explain ?? 'none'],
        explainFaces: 'all',
        signal: abortOnDisconnect(reply),
      });
      return analysisJson(result);
    },
  );

  // Other methods on the route get 405 with the one it takes, not a 404.
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/api/v1/analyze',
    schema: { hide: true },
    handler: async (req, reply) => {
      reply.header('allow', 'POST');
      throw new AppError(
        'METHOD_NOT_ALLOWED',
        `${req.method} is not allowed here; send the image with POST`,
      );
    },
  });
}
