import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  ENV_VARS,
  envVarsMarkdown,
  readEnv,
} from '../../ts/config/index.ts';

const valueAt = (key: string): unknown =>
  key
    .split('.')
    .reduce<unknown>(
      (node, part) => (node as Record<string, unknown>)[part],
      DEFAULTS,
    );

describe('the env table', () => {
  it('states the real default wherever it gives a literal one', () => {
    const literal = ENV_VARS.filter(
      (v) => !v.default.startsWith('(') && !v.default.includes('…'),
    );
    expect(literal.length).toBeGreaterThan(5);
    for (const v of literal) expect(String(valueAt(v.key))).toBe(v.default);
  });

  it('names only keys that exist in the config', () => {
    for (const v of ENV_VARS) expect(valueAt(v.key)).not.toBeUndefined();
  });

  it('renders one Markdown row per variable plus the config file', () => {
    const rows = envVarsMarkdown().split('\n');
    expect(rows).toHaveLength(ENV_VARS.length + 3);
    expect(rows[3]).toContain('`PORT`');
  });

  it('reports a non-integer number without throwing', () => {
    const { overlay, errors } = readEnv({ PORT: '80a' });
    expect(overlay).toEqual({});
    expect(errors).toEqual(['PORT: expected an integer (got "80a")']);
  });

  it('ignores unset and empty variables', () => {
    expect(readEnv({ PORT: '', HOST: undefined }).overlay).toEqual({});
  });
});
