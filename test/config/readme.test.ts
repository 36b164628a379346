import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, ENV_VARS, repoRoot } from '../../ts/config/index.ts';

function keys(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [prefix];
  }
  return Object.entries(value).flatMap(([k, v]) => keys(v, `${prefix}${k}.`));
}

const readme = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');

describe('the README configuration reference', () => {
  it('lists every config key with its default', () => {
    for (const dotted of keys(DEFAULTS)) {
      const key = dotted.slice(0, -1);
      const row = readme
        .split('\n')
        .find((l) => l.startsWith(`| \`${key}\` |`));
      expect(row, `README row for ${key}`).toBeDefined();
      const value = key
        .split('.')
        .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], DEFAULTS);
      if (key !== 'model.checkpoint' && key !== 'model.pretrained') {
        expect(row).toContain(`\`${JSON.stringify(value)}\``);
      }
    }
  });

  it('names every environment variable next to its key', () => {
    for (const v of ENV_VARS) {
      const row = readme
        .split('\n')
        .find((l) => l.startsWith(`| \`${v.key}\` |`));
      expect(row, `README row for ${v.key}`).toContain(`\`${v.env}\``);
    }
  });
});
