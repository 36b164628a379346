import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The repository root: the nearest folder above this file with a package.json. */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above ts/config');
    dir = parent;
  }
  cachedRoot = dir;
  return dir;
}

/** Resolves a config path against the repository root; null stays null. */
export function resolveFromRoot(path: string | null): string | null {
  if (path === null || isAbsolute(path)) return path;
  return resolve(repoRoot(), path);
}

/**
 * Resolves the interpreter like a path only when it looks like one, so a
 * bare `python3` is still looked up on PATH.
 */
export function resolveCommand(command: string): string {
  return command.includes('/') ? resolve(repoRoot(), command) : command;
}
