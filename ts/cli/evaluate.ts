import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { readLabels, type LabelledImage } from '../data/labels.ts';
import { isAppError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { FacePipeline, pipelineSettings } from '../pipeline/analyze.ts';
import { startSidecar } from '../sidecar/supervisor.ts';
import { progressBar } from './progress.ts';
import { scoreTask, type Outcome } from './evaluate-metrics.ts';

const program = new Command('evaluate')
  .description(
    'Run the full serving pipeline (decode, detect, crop, predict) on a ' +
      'labelled folder and print accuracy, balanced accuracy, F1 and AUC',
  )
  .requiredOption('--labels <file>', 'labels.csv (file,male,smiling)')
  .requiredOption('--images <dir>', 'folder holding the listed files')
  .option('--model <checkpoint>', 'model.pt to evaluate (default: config)')
  .option('--config <file>', 'service config file')
  .option('--limit <n>', 'evaluate only the first N rows', Number)
  .option('--out <file>', 'also write the JSON result here')
  .parse();
const opts = program.opts<{
  labels: string;
  images: string;
  model?: string;
  config?: string;
  limit?: number;
  out?: string;
}>();

const config = loadConfig({
  file: opts.config,
  overrides: opts.model
    ? { model: { checkpoint: path.resolve(opts.model) } }
    : {},
});
const log = createLogger({
  level: config.log.level,
  base: { component: 'evaluate' },
  stderr: true, // stdout is the JSON result
});
let rows: LabelledImage[] = await readLabels(opts.labels);
if (opts.limit) rows = rows.slice(0, opts.limit);

const sidecar = await startSidecar(config, { logger: log });
try {
  if (!sidecar.card) throw new Error('The sidecar has no model loaded');
  const pipeline = new FacePipeline(
    sidecar,
    (images, explain) => sidecar.predict(images, explain),
    pipelineSettings(config),
  );
  const outcomes: Outcome[] = [];
  const bar = progressBar('evaluate [{bar}] {value}/{total} | ETA {eta}s');
  bar.start(rows.length, 0);
  const started = performance.now();
  for (const row of rows) {
    outcomes.push(await analyzeOne(pipeline, row));
    bar.increment();
  }
  bar.stop();
  const elapsed = performance.now() - started;
  const tasks: Record<string, unknown> = {};
  const gender = scoreTask(outcomes, 'gender');
  const smile = scoreTask(outcomes, 'smile');
  if (gender) tasks.gender = gender;
  if (smile) tasks.smile = smile;
  const latencies = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const result = {
    tasks,
    n_images: outcomes.length,
    n_faces_found: outcomes.filter((o) => o.found).length,
    // Of those, images analysed whole as a face crop (none detected).
    n_whole_image: outcomes.filter((o) => o.wholeImage).length,
    n_errors: outcomes.filter((o) => o.error).length,
    ms_per_image: elapsed / Math.max(1, outcomes.length),
    ms_p50: latencies[Math.floor(latencies.length / 2)] ?? null,
    model: {
      name: sidecar.card.name,
      version: sidecar.card.version,
      checkpoint: config.model.checkpoint,
    },
  };
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(`${text}\n`);
  if (opts.out) await writeFile(opts.out, text);
} finally {
  await sidecar.close();
}

async function analyzeOne(
  pipeline: FacePipeline,
  row: LabelledImage,
): Promise<Outcome> {
  const t0 = performance.now();
  const base = { male: row.male, smiling: row.smiling };
  try {
    const bytes = await readFile(path.join(opts.images, row.file));
    const analysis = await pipeline.analyze(bytes, {
      explain: [],
      explainFaces: 'largest',
    });
    const face = analysis.faces[0];
    const ms = performance.now() - t0;
    if (!face) return { ...base, found: false, ms };
    return {
      ...base,
      found: true,
      wholeImage: face.wholeImage,
      ms,
      pMale: positive(face.gender.label, 'male', face.gender.probability),
      pSmiling: positive(face.smile.label, 'smiling', face.smile.probability),
      saidMale: face.gender.label === 'male',
      saidSmiling: face.smile.label === 'smiling',
    };
  } catch (err: unknown) {
    const reason = isAppError(err) ? err.code : String(err);
    log.warn({ file: row.file, reason }, 'image could not be analysed');
    return { ...base, found: false, ms: performance.now() - t0, error: reason };
  }
}

/** Probability of the positive class, from the label shown and its probability. */
function positive(label: string, pos: string, p: number): number {
  return label === pos ? p : 1 - p;
}
