/**
 * `npm run bench:engine [-- --calls 200 --explains 2000 --json]`: measures
 * the model engine through the TypeScript client against the real sidecar.
 * Serves `models/default/model.pt` when it exists, else a freshly built
 * mobilenet_v2 (96 px, configured pretrained trunk). Measures; asserts
 * nothing. Runs on the configured device (default auto).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { createLogger } from '../logging.ts';
import type { StatsResult, Task } from '../protocol/index.ts';
import {
  startSidecar,
  type ImageBatch,
  type Sidecar,
} from '../sidecar/index.ts';

const program = new Command('bench:engine')
  .description('Latency, throughput and memory of the sidecar engine')
  .option('--config <file>', 'service config file')
  .option('--calls <n>', 'predict calls per latency row', '200')
  .option('--explains <n>', 'explains between the memory snapshots', '2000')
  .option('--eval-images <n>', 'images per eval throughput row', '256')
  .option('--batches <list>', 'eval batch sizes', '1,8,32')
  .option('--threads <n>', 'torch threads (default: config)')
  .option('--json', 'print only the JSON')
  .option('--out <file>', 'also write the JSON here')
  .parse();

const opts = program.opts<{
  config?: string;
  calls: string;
  explains: string;
  evalImages: string;
  batches: string;
  threads?: string;
  json?: boolean;
  out?: string;
}>();

const BOTH: Task[] = ['gender', 'smile'];
const config = loadConfig({
  file: opts.config,
  overrides: opts.threads ? { sidecar: { threads: Number(opts.threads) } } : {},
});
// Lifecycle logs would break up the table; warnings still show.
const log = createLogger({ level: 'warn' });
const sidecar = await startSidecar(config, { logger: log });
try {
  const model = await ensureModel(sidecar);
  const size = sidecar.card!.input_size;
  const one = noise(1, 1, size);
  for (let i = 0; i < 3; i++) await sidecar.predict(one, BOTH); // warm-up

  const calls = Number(opts.calls);
  const predict = await latency(calls, () => sidecar.predict(one));
  const explain = await latency(calls, () => sidecar.predict(one, BOTH));
  const batches = opts.batches.split(',').map(Number);
  const predictRows = [];
  for (const batch of batches) {
    predictRows.push(await throughput(sidecar, 'predict', batch, size));
  }
  const evalRows = [];
  for (const batch of batches) {
    evalRows.push(await throughput(sidecar, 'eval_step', batch, size));
  }
  const memory = await explainMemory(sidecar, Number(opts.explains), one);
  const info = await sidecar.hello();
  const { compiled } = await sidecar.stats();
  const result = {
    model,
    input_size: size,
    device: info.device,
    threads: info.threads,
    torch: info.torch,
    compiled_trunk: compiled,
    latency_ms: { predict, predict_explain_both: explain },
    predict: predictRows,
    eval: evalRows,
    memory,
  };
  if (!opts.json) printTable(result);
  console.log(JSON.stringify(result, null, opts.json ? 2 : 0));
  if (opts.out) await writeFile(opts.out, JSON.stringify(result, null, 2));
} finally {
  await sidecar.close();
}

/** Serves the committed model, or builds a fresh one; says which. */
async function ensureModel(sc: Sidecar): Promise<string> {
  if (sc.card) return `checkpoint ${config.model.checkpoint}`;
  const pretrained = config.model.pretrained;
  const loaded = await sc.loadModel({
    arch: {
      backbone: 'mobilenet_v2',
      output_stride: 16,
      adapter_channels: 128,
    },
    input_size: 96,
    pretrained: pretrained && existsSync(pretrained) ? pretrained : null,
  });
  const trunk = loaded.pretrained_loaded ? 'pretrained trunk' : 'random init';
  return `fresh mobilenet_v2 (${trunk})`;
}

function noise(seed: number, n: number, size: number): ImageBatch {
  const data = new Uint8Array(n * size * size * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s >> 16;
  }
  return { data, n, size };
}

interface Latency {
  calls: number;
  p50: number;
  p95: number;
  mean: number;
}

async function latency(n: number, call: () => Promise<unknown>) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    ms.push(performance.now() - t);
  }
  return summarize(ms);
}

function summarize(ms: number[]): Latency {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * ms.length) - 1)];
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return {
    calls: ms.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    mean: round(mean),
  };
}

/**
 * Images/s of `predict` (the serving path: compiled trunk on CPU when
 * `sidecar.optimize`) or `eval_step` (the training-time eager model).
 */
async function throughput(
  sc: Sidecar,
  op: 'predict' | 'eval_step',
  batch: number,
  size: number,
) {
  const images = noise(batch, batch, size);
  const rounds = Math.max(3, Math.ceil(Number(opts.evalImages) / batch));
  const run = () =>
    op === 'predict' ? sc.predict(images) : sc.evalStep(images);
  await run(); // warm-up for this shape
  const t = performance.now();
  for (let i = 0; i < rounds; i++) await run();
  const seconds = (performance.now() - t) / 1000;
  const imagesPerSecond = round((rounds * batch) / seconds);
  return { op, batch, rounds, images_per_s: imagesPerSecond };
}

/** RSS and hook counts before and after `n` explains of both tasks. */
async function explainMemory(sc: Sidecar, n: number, one: ImageBatch) {
  const before = await sc.stats();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await sc.predict(one, BOTH);
    ms.push(performance.now() - t);
  }
  const after = await sc.stats();
  const tenth = Math.max(1, Math.floor(n / 10));
  return {
    explains: n,
    rss_mb: {
      before: mb(before),
      after: mb(after),
      delta: mb(after) - mb(before),
    },
    hooks: { before: before.hooks, after: after.hooks },
    first_tenth_ms: n > 0 ? summarize(ms.slice(0, tenth)).mean : null,
    last_tenth_ms: n > 0 ? summarize(ms.slice(-tenth)).mean : null,
  };
}

function mb(stats: StatsResult): number {
  return round(stats.rss_bytes / 2 ** 20);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function printTable(r: {
  model: string;
  device: string;
  threads: number;
  input_size: number;
  compiled_trunk: boolean;
  latency_ms: Record<string, Latency>;
  predict: { batch: number; images_per_s: number }[];
  eval: { batch: number; images_per_s: number }[];
  memory: Awaited<ReturnType<typeof explainMemory>>;
}) {
  const row = (...cells: (string | number)[]) =>
    console.log(
      cells.map((c, i) => String(c).padEnd(i === 0 ? 26 : 12)).join(''),
    );
  console.log(
    `engine: ${r.model}, ${r.input_size}px, ${r.device}, ${r.threads} threads, ` +
      `compiled trunk: ${r.compiled_trunk ? 'yes' : 'no'}\n`,
  );
  row('one image', 'p50 ms', 'p95 ms', 'mean ms', 'calls');
  for (const [name, l] of Object.entries(r.latency_ms)) {
    row(name, l.p50, l.p95, l.mean, l.calls);
  }
  console.log();
  row('batch', 'predict/s', 'eval_step/s');
  r.predict.forEach((p, i) =>
    row(p.batch, p.images_per_s, r.eval[i].images_per_s),
  );
  const m = r.memory;
  console.log();
  row(`after ${m.explains} explains`, 'before', 'after');
  row('sidecar RSS MB', m.rss_mb.before, m.rss_mb.after);
  const hooks = (h: Record<string, number | undefined>) =>
    Object.entries(h)
      .map(([task, n]) => `${task[0]}${n}`)
      .join(' ');
  row('Grad-CAM hooks', hooks(m.hooks.before), hooks(m.hooks.after));
  row('explain mean ms', m.first_tenth_ms ?? '-', m.last_tenth_ms ?? '-');
  console.log();
}
