/**
 * The wire protocol version (docs/wire-protocol.md). Both sides check it in
 * the `hello` handshake; change it whenever a message changes shape.
 */
export const PROTOCOL_VERSION = 1;

/** The model's tasks, in wire order (label columns, logits, cams). */
export const TASKS = ['gender', 'smile'] as const;
export type Task = (typeof TASKS)[number];

/** Error codes the sidecar puts in an `ok: false` reply. */
export const SIDECAR_ERROR_CODES = [
  'BAD_HEADER',
  'BAD_TENSOR',
  'UNKNOWN_OP',
  'BAD_OPTIONS',
  'NO_MODEL',
  'NOT_TRAINING',
  'IO_ERROR',
  'INTERNAL',
] as const;
export type SidecarErrorCode = (typeof SIDECAR_ERROR_CODES)[number];

export function isTask(value: unknown): value is Task {
  return (TASKS as readonly unknown[]).includes(value);
}
