import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../ts/config/index.ts';
import { pythonCommand } from '../../ts/sidecar/command.ts';

describe('pythonCommand', () => {
  const saved = process.env.OMP_WAIT_POLICY;
  afterEach(() => {
    if (saved === undefined) delete process.env.OMP_WAIT_POLICY;
    else process.env.OMP_WAIT_POLICY = saved;
  });

  it('lets idle OpenMP threads sleep unless the user chose otherwise', () => {
    const config = loadConfig({ env: {} });
    delete process.env.OMP_WAIT_POLICY;
    const cmd = pythonCommand(config, 'ipc:///tmp/x');
    expect(cmd.env.OMP_WAIT_POLICY).toBe('PASSIVE');
    expect(cmd.env.PYTHONUNBUFFERED).toBe('1');
    expect(cmd.env.PYTHONPATH?.split(':')[0]).toMatch(/python$/);
    process.env.OMP_WAIT_POLICY = 'ACTIVE';
    expect(pythonCommand(config, 'ipc:///tmp/x').env.OMP_WAIT_POLICY).toBe(
      'ACTIVE',
    );
  });
});
