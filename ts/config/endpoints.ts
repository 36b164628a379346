/** The endpoint forms a sidecar binds or is reached at. */
export const ENDPOINT_PATTERN = /^(tcp|ipc):\/\/.+/;

/**
 * The endpoints in `sidecar.endpoint`: one, or a comma-separated list (one
 * model worker each), trimmed, empty entries dropped. Null gives `[]`.
 */
export function parseEndpoints(text: string | null): string[] {
  if (text === null) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
