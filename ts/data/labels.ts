import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

/** 1, 0, or null when the data set does not know. */
export type Label = 0 | 1 | null;

export interface LabelledImage {
  file: string;
  male: Label;
  smiling: Label;
  /** Extra columns from meta.csv (identity, age, race, ...), as strings. */
  meta: Record<string, string>;
}

/**
 * Reads a `labels.csv` (`file,male,smiling`; empty cell = unknown) and, when
 * present beside it, `meta.csv` keyed by the same `file` column.
 *
 * @throws Error naming the file and row when a label is not 0, 1 or empty.
 */
export async function readLabels(labelsPath: string): Promise<LabelledImage[]> {
  const rows = parseCsv(await readFile(labelsPath, 'utf8'));
  const metaPath = path.join(path.dirname(labelsPath), 'meta.csv');
  const meta = new Map<string, Record<string, string>>();
  if (existsSync(metaPath)) {
    for (const row of parseCsv(await readFile(metaPath, 'utf8'))) {
      const { file, ...rest } = row;
      meta.set(file, rest);
    }
  }
  return rows.map((row, i) => {
    if (!row.file) throw new Error(`${labelsPath}: row ${i + 2} has no file`);
    return {
      file: row.file,
      male: parseLabel(row.male, labelsPath, i),
      smiling: parseLabel(row.smiling, labelsPath, i),
      meta: meta.get(row.file) ?? {},
    };
  });
}

function parseCsv(text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: true, trim: true });
}

function parseLabel(cell: string | undefined, file: string, i: number): Label {
  if (cell === undefined || cell === '') return null;
  if (cell === '0') return 0;
  if (cell === '1') return 1;
  throw new Error(
    `${file}: row ${i + 2}: expected 0, 1 or empty, got "${cell}"`,
  );
}
