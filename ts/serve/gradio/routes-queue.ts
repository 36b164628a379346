import type { FastifyInstance, FastifyReply } from 'fastify';
import { isAppError } from '../../errors.ts';
import { publicRoot } from '../root-url.ts';
import type { GradioPluginOptions } from './context.ts';
import { API_PREFIX } from './documents.ts';
import { HEARTBEAT, sessionNotFound, type QueueMessage } from './messages.ts';
import type { Sink } from './queue.ts';
import {
  dataFrame,
  eventFrame,
  openEventStream,
  type EventStream,
} from './sse.ts';

const SESSION_HASH = /^[A-Za-z0-9_-]{1,128}$/;
const EVENT_ID = /^[0-9a-f]{32}$/;
const hidden = { schema: { hide: true } };

interface JoinRequest {
  data: unknown[];
  fnIndex: number;
  sessionHash: string;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** Checks a queue/join body; returns the 422 detail when it is malformed. */
function parseJoin(
  body: unknown,
  fnIds: ReadonlySet<number>,
): JoinRequest | string {
  const b = record(body);
  if (!b) return 'The body must be a JSON object.';
  if (!Array.isArray(b.data)) return 'Field `data` must be a list.';
  if (typeof b.fn_index !== 'number' || !fnIds.has(b.fn_index)) {
    return 'Field `fn_index` must name an existing function.';
  }
  const hash = b.session_hash;
  if (typeof hash !== 'string' || !SESSION_HASH.test(hash)) {
    return 'Field `session_hash` must be 1-128 letters, digits, _ or -.';
  }
  return { data: b.data, fnIndex: b.fn_index, sessionHash: hash };
}

/** Maps queue messages to the named events of `/call/<api>/<event_id>`. */
function callFrame(m: QueueMessage): string | null {
  const output = record(m.output);
  switch (m.msg) {
    case 'process_completed':
      return m.success
        ? eventFrame('complete', output?.data ?? null)
        : eventFrame('error', output?.error ?? null);
    case 'unexpected_error':
      return eventFrame('error', m.message ?? null);
    case 'heartbeat':
      return eventFrame('heartbeat', null);
    default:
      return null;
  }
}

/**
 * The queue protocol: join + one event stream per session (what the
 * clients use), the curl-style `/call/<api_name>` pair, heartbeat, cancel
 * and reset.
 */
export async function queueRoutes(
  app: FastifyInstance,
  opts: GradioPluginOptions,
): Promise<void> {
  const { queue, spec, settings, handler } = opts;
  const fnIds = new Set(spec.endpoints.map((e) => e.id));
  const heartbeatMs = settings.heartbeatSeconds * 1000;
  const streams = new Set<EventStream>();

  app.addHook('preClose', async () => {
    queue.close();
    for (const s of streams) s.end();
  });

  function stream(reply: FastifyReply, heartbeat: string, onClose = () => {}) {
    const s: EventStream = openEventStream(reply, {
      heartbeatMs,
      heartbeat,
      onClose: () => {
        streams.delete(s);
        onClose();
      },
    });
    streams.add(s);
    return s;
  }

  function enqueue(
    reply: FastifyReply,
    root: string,
    sessionHash: string | null,
    fnIndex: number,
    data: unknown[],
  ) {
    try {
      const eventId = queue.join(sessionHash, (ctx) =>
        handler(fnIndex, data, { ...ctx, root }),
      );
      return { event_id: eventId };
    } catch (err: unknown) {
      if (isAppError(err) && err.code === 'QUEUE_FULL') {
        return reply.code(503).send({ detail: 'Queue is full.' });
      }
      throw err;
    }
  }

  app.post(`${API_PREFIX}/queue/join`, hidden, async (req, reply) => {
    const parsed = parseJoin(req.body, fnIds);
    if (typeof parsed === 'string') {
      return reply.code(422).send({ detail: parsed });
    }
    const root = publicRoot(req, settings.publicUrl);
    return enqueue(
      reply,
      root,
      parsed.sessionHash,
      parsed.fnIndex,
      parsed.data,
    );
  });

  app.get(`${API_PREFIX}/queue/data`, hidden, (req, reply) => {
    const hash = (req.query as Record<string, unknown>).session_hash;
    const s = stream(reply, dataFrame(HEARTBEAT), () => {
      if (typeof hash === 'string') queue.detach(hash, sink);
    });
    const sink: Sink = {
      send: (messages) => s.write(messages.map(dataFrame).join('')),
      end: () => s.end(),
    };
    if (typeof hash !== 'string' || !queue.attach(hash, sink)) {
      s.write(dataFrame(sessionNotFound()));
      s.end();
    }
  });

  app.post<{ Params: { api: string } }>(
    `${API_PREFIX}/call/:api`,
    hidden,
    async (req, reply) => {
      const endpoint = spec.endpoints.find((e) => e.apiName === req.params.api);
      if (!endpoint) return reply.code(404).send({ detail: 'Not Found' });
      const body = record(req.body);
      if (!body || !Array.isArray(body.data)) {
        return reply.code(422).send({ detail: 'Field `data` must be a list.' });
      }
      const root = publicRoot(req, settings.publicUrl);
      return enqueue(reply, root, null, endpoint.id, body.data);
    },
  );

  app.get<{ Params: { api: string; eventId: string } }>(
    `${API_PREFIX}/call/:api/:eventId`,
    hidden,
    (req, reply) => {
      const { eventId } = req.params;
      const s = stream(reply, eventFrame('heartbeat', null), () =>
        queue.detach(eventId, sink),
      );
      const sink: Sink = {
        send: (messages) =>
          s.write(messages.map(callFrame).filter(Boolean).join('')),
        end: () => s.end(),
      };
      // A result already read is gone, as an unknown id would be.
      if (
        !EVENT_ID.test(eventId) ||
        queue.drained(eventId) ||
        !queue.attach(eventId, sink)
      ) {
        s.write(eventFrame('error', 'Session not found.'));
        s.end();
      }
    },
  );

  app.get(`${API_PREFIX}/heartbeat/:session`, hidden, (_req, reply) => {
    stream(reply, dataFrame(HEARTBEAT));
  });

  app.post(`${API_PREFIX}/cancel`, hidden, async (req) => {
    const body = record(req.body) ?? {};
    const ok =
      typeof body.event_id === 'string' &&
      typeof body.session_hash === 'string' &&
      queue.cancel(body.event_id, body.session_hash);
    return { success: ok };
  });

  app.post(`${API_PREFIX}/reset`, hidden, async () => ({ success: true }));
}
