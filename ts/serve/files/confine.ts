import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../errors.ts';

/** A scheme such as `https:`, `file:`, `data:` (a Windows drive letter too). */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** True when `child` equals `root` or lies under it, compared by segments. */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  if (rel === '') return true;
  if (path.isAbsolute(rel)) return false;
  return rel.split(path.sep)[0] !== '..';
}

/**
 * Resolves a client-supplied path to a regular file inside one of `roots`
 * (which must already be real paths). Refuses, with BAD_PATH, anything that
 * is not a plain absolute or root-relative path: NUL bytes, URL schemes (no
 * fetching: SSRF), escapes by `..` or by symlinks. A path that would be
 * allowed but does not exist is FILE_NOT_FOUND.
 */
export async function confinePath(
  candidate: unknown,
  roots: readonly string[],
): Promise<string> {
  if (typeof candidate !== 'string' || candidate.length === 0) {
    throw new AppError('BAD_PATH', 'A file path must be a non-empty string');
  }
  if (candidate.includes('\0') || SCHEME.test(candidate)) {
    throw new AppError('BAD_PATH');
  }
  const lexical = path.resolve(roots[0], candidate);
  if (!roots.some((root) => isInside(root, lexical))) {
    throw new AppError('BAD_PATH');
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (err: unknown) {
    throw new AppError('FILE_NOT_FOUND', undefined, { cause: err });
  }
  if (!roots.some((root) => isInside(root, real) && real !== root)) {
    throw new AppError('BAD_PATH');
  }
  const stat = await lstat(real);
  if (!stat.isFile()) throw new AppError('BAD_PATH', 'Not a regular file');
  return real;
}
