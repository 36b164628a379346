import type { FastifyError, FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, errorBody, isAppError, type ErrorCode } from '../errors.ts';

/** Fastify and @fastify/multipart error codes that a client caused. */
const CLIENT_FAULTS: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'TOO_MANY_FILES',
  FST_PARTS_LIMIT: 'TOO_MANY_FILES',
  FST_FIELDS_LIMIT: 'TOO_MANY_FILES',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'NOT_AN_IMAGE',
};

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as FastifyError).code === 'string';
}

/**
 * Turns anything thrown on the request path into an AppError. Errors a
 * client caused (limits, bad bodies, failed validation) keep a 4xx status;
 * anything else becomes INTERNAL, which is a bug to fix.
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (!isFastifyError(err))
    return new AppError('INTERNAL', undefined, { cause: err });
  const mapped = CLIENT_FAULTS[err.code];
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    // curl's --data-binary sends form-urlencoded: say how to send an image.
    const message =
      'This content type is not accepted here. Send the image as ' +
      'multipart/form-data (REST: the field "image"), or to /api/v1/analyze ' +
      'as the request body with an image/* or application/octet-stream ' +
      'content type';
    return new AppError('NOT_AN_IMAGE', message, { cause: err });
  }
  if (mapped) return new AppError(mapped, undefined, { cause: err });
  const status = err.statusCode ?? 500;
  if (err.validation || (status >= 400 && status < 500)) {
    return new AppError('BAD_REQUEST', err.message, { cause: err });
  }
  return new AppError('INTERNAL', undefined, { cause: err });
}

/**
 * For errors thrown while reading a multipart body: the parser's own errors
 * (no boundary, a part cut short, a malformed header) are plain Errors, and
 * they are the client's fault, so they become BAD_REQUEST; limits and
 * everything else map as in `toAppError`.
 */
export function multipartError(err: unknown): AppError {
  if (isAppError(err) || isFastifyError(err)) return toAppError(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new AppError('BAD_REQUEST', `Malformed multipart body: ${detail}`, {
    cause: err,
  });
}

/**
 * Server-side conditions that pass by themselves (the model process is
 * restarting, the queue is full, a call ran out of time): logged as
 * warnings without a stack, and a 503 tells the client when to try again.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set([
  'MODEL_UNAVAILABLE',
  'SIDECAR_DIED',
  'SIDECAR_TIMEOUT',
  'QUEUE_FULL',
]);

/** Seconds a client is asked to wait after a 503: about one sidecar restart. */
export const RETRY_AFTER_SECONDS = 5;

/** Installs the `{error: {code, message}}` handler on an encapsulation context. */
export function installJsonErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const appErr = toAppError(err);
    if (TRANSIENT.has(appErr.code)) {
      req.log.warn({ code: appErr.code, cause: String(err) }, 'request failed');
    } else if (appErr.status >= 500) {
      req.log.error({ err, code: appErr.code }, 'request failed');
    } else {
      req.log.info(
        { code: appErr.code, cause: String(err) },
        'request refused',
      );
    }
    if (appErr.status === 503) {
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    }
    return reply.code(appErr.status).send(errorBody(appErr));
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new AppError('FILE_NOT_FOUND', `No route for ${req.method}`);
    return reply.code(404).send(errorBody(err));
  });
}

/**
 * Requests Node's HTTP parser rejects before fastify sees them (a malformed
 * request line or header, headers over the limit, a request still arriving
 * after `requestTimeout`) get the same `{error: {code, message}}` body as
 * every other error, then the connection is closed.
 */
export function clientErrorHandler(err: Error, socket: Duplex): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || socket.destroyed) return;
  const appCode: ErrorCode =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'REQUEST_TIMEOUT'
      : code === 'HPE_HEADER_OVERFLOW'
        ? 'HEADERS_TOO_LARGE'
        : 'BAD_REQUEST';
  const error = new AppError(appCode);
  const body = JSON.stringify(errorBody(error));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
