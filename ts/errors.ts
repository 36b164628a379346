/**
 * The one table of coded errors. Every error a client can see carries one of
 * these codes; tests assert on the code, never on the message text.
 */
export const ERRORS = {
  EMPTY_UPLOAD: { status: 400, message: 'The upload is empty (0 bytes)' },
  BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  MISSING_IMAGE: { status: 400, message: 'No image was given' },
  UPLOAD_TOO_LARGE: {
    status: 413,
    message: 'The upload is larger than allowed',
  },
  TOO_MANY_FILES: { status: 413, message: 'Too many files in one request' },
  TOO_MANY_PIXELS: {
    status: 413,
    message: 'The image has more pixels than allowed',
  },
  NOT_AN_IMAGE: { status: 415, message: 'The upload is not an image' },
  UNSUPPORTED_FORMAT: {
    status: 415,
    message: 'The image format is not supported',
  },
  UNDECODABLE_IMAGE: {
    status: 422,
    message: 'The image is corrupt or truncated and cannot be decoded',
  },
  IMAGE_TOO_SMALL: { status: 422, message: 'The image is too small' },
  NO_FACE: { status: 422, message: 'No face was found in the image' },
  REQUEST_TIMEOUT: {
    status: 408,
    message: 'The request took too long to arrive',
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    message: 'The request headers are larger than allowed',
  },
  BAD_PATH: { status: 403, message: 'That file path is not allowed' },
  FILE_NOT_FOUND: { status: 404, message: 'No such file' },
  METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'This route does not take that method',
  },
  QUEUE_FULL: { status: 503, message: 'The queue is full; try again later' },
  MODEL_UNAVAILABLE: { status: 503, message: 'The model is not available' },
  SIDECAR_DIED: {
    status: 503,
    message: 'The model process stopped during the request',
  },
  SIDECAR_TIMEOUT: {
    status: 504,
    message: 'The model process did not answer in time',
  },
  SIDECAR_ERROR: {
    status: 500,
    message: 'The model process reported an error',
  },
  MESSAGE_TOO_LARGE: {
    status: 413,
    message: 'The message is larger than the sidecar link allows',
  },
  PROTOCOL_MISMATCH: {
    status: 500,
    message: 'The model process speaks a different protocol version',
  },
  CONFIG_INVALID: { status: 500, message: 'The configuration is invalid' },
  ENVIRONMENT: { status: 500, message: 'The Python environment is incomplete' },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a code from {@link ERRORS}, an HTTP status and a cause. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message ?? ERRORS[code].message, { cause: options?.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options?.details;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The `{error: {code, message}}` body sent to HTTP clients. */
export function errorBody(err: AppError): {
  error: { code: ErrorCode; message: string };
} {
  return { error: { code: err.code, message: err.message } };
}
