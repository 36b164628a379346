import type { FastifyRequest } from 'fastify';

const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim() || undefined;
}

/**
 * The base URL clients reach this server at, without a trailing slash: the
 * configured public URL, else derived from X-Forwarded-* or Host headers
 * (as Gradio does). Malformed hosts fall back to the socket's address.
 */
export function publicRoot(
  req: FastifyRequest,
  publicUrl: string | null,
): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const proto = firstValue(req.headers['x-forwarded-proto']);
  const scheme = proto === 'https' || proto === 'http' ? proto : req.protocol;
  const host =
    firstValue(req.headers['x-forwarded-host']) ?? firstValue(req.headers.host);
  if (host && SAFE_HOST.test(host)) return `${scheme}://${host}`;
  const address = req.socket.localAddress ?? '127.0.0.1';
  const port = req.socket.localPort ?? 80;
  const hostPart = address.includes(':') ? `[${address}]` : address;
  return `${scheme}://${hostPart}:${port}`;
}
