import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLabels } from '../../ts/data/labels.ts';

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'labels-'));
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

describe('readLabels', () => {
  it('reads 0, 1 and empty cells as labels and unknowns, with meta', async () => {
    const dir = await folder({
      'labels.csv': 'file,male,smiling\na.jpg,1,\nb.jpg,,0\nc.jpg,0,1\n',
      'meta.csv': 'file,identity\na.jpg,17\nc.jpg,4\n',
    });
    const rows = await readLabels(path.join(dir, 'labels.csv'));
    expect(rows).toEqual([
      { file: 'a.jpg', male: 1, smiling: null, meta: { identity: '17' } },
      { file: 'b.jpg', male: null, smiling: 0, meta: {} },
      { file: 'c.jpg', male: 0, smiling: 1, meta: { identity: '4' } },
    ]);
  });

  it('names the row of a label that is not 0, 1 or empty', async () => {
    const dir = await folder({
      'labels.csv': 'file,male,smiling\na.jpg,2,1\n',
    });
    await expect(readLabels(path.join(dir, 'labels.csv'))).rejects.toThrow(
      /row 2/,
    );
  });
});
