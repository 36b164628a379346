import { AppError, isAppError } from '../errors.ts';
import { PROTOCOL_VERSION, type HelloResult } from '../protocol/index.ts';
import type { SidecarChild } from './child.ts';
import type { SidecarClient } from './client.ts';

/** First attempt's deadline; doubled per retry up to the cap. */
const HELLO_TRY_MS = 1000;
const HELLO_TRY_MAX_MS = 10_000;

export interface HandshakeOptions {
  /** Give up after this long, in ms. */
  startTimeoutMs: number;
  /** The spawned process, if any: its exit ends the wait at once. */
  child?: SidecarChild;
  /** Polled between attempts; true stops the wait. */
  cancelled?: () => boolean;
}

/**
 * Sends `hello` until one is answered (a sidecar binds its socket only
 * after importing torch, seconds after it starts), then checks the version.
 * @throws AppError `SIDECAR_TIMEOUT` after `startTimeoutMs`, `SIDECAR_DIED`
 *   when the process exits, `PROTOCOL_MISMATCH` for another version.
 */
export async function handshake(
  client: SidecarClient,
  opts: HandshakeOptions,
): Promise<HelloResult> {
  const { startTimeoutMs, child } = opts;
  const deadline = Date.now() + startTimeoutMs;
  for (let tryMs = HELLO_TRY_MS; ; tryMs *= 2) {
    const left = deadline - Date.now();
    if (left <= 0 || opts.cancelled?.()) break;
    const timeoutMs = Math.min(tryMs, HELLO_TRY_MAX_MS, left);
    try {
      return checkProtocol(await client.hello({}, { timeoutMs }));
    } catch (err: unknown) {
      const retry = isAppError(err) && err.code === 'SIDECAR_TIMEOUT';
      if (!retry || child?.exit) throw err;
    }
  }
  throw new AppError(
    'SIDECAR_TIMEOUT',
    `The sidecar did not answer hello within ${startTimeoutMs} ms`,
    { details: { endpoint: client.endpoint, stderr: child?.relay.tail } },
  );
}

/** @throws AppError `PROTOCOL_MISMATCH` unless both sides speak ours. */
export function checkProtocol(hello: HelloResult): HelloResult {
  if (hello.protocol !== PROTOCOL_VERSION) {
    throw new AppError(
      'PROTOCOL_MISMATCH',
      `The sidecar speaks protocol ${String(hello.protocol)}; ` +
        `this build speaks ${PROTOCOL_VERSION}. Update both sides together.`,
      { details: { sidecar: hello.protocol, ours: PROTOCOL_VERSION } },
    );
  }
  return hello;
}
