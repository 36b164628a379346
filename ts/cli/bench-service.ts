import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from '@gradio/client';
import { Command } from 'commander';
import sharp from 'sharp';
import { repoRoot } from '../config/index.ts';
import { drawnFace } from './drawn-face.ts';

const program = new Command('bench-service')
  .description(
    'Latency and throughput of /api/v1/analyze and the Gradio endpoint at ' +
      'several concurrencies, and memory over a long run. Prints figures; ' +
      'asserts nothing.',
  )
  .option('--url <url>', 'bench a running server instead of starting one')
  .option('--random-model', 'when starting a server: allow an untrained model')
  .option('--config <file>', 'when starting a server: its config file')
  .option('--image <file>', 'image to send (default: a drawn face, 320×384)')
  .option(
    '--requests <n>',
    'requests per scenario (at least 4 per worker)',
    Number,
    48,
  )
  .option('--soak <n>', 'requests in the memory run', Number, 2000)
  .option('--concurrency <list>', 'comma-separated concurrencies', '1,8,32')
  .parse();
const opts = program.opts<{
  url?: string;
  randomModel?: boolean;
  config?: string;
  image?: string;
  requests: number;
  soak: number;
  concurrency: string;
}>();

type Call = () => Promise<void>;
type Worker = () => Promise<Call>;

interface Figures {
  target: string;
  concurrency: number;
  n: number;
  errors: number;
  p50: number;
  p95: number;
  perSecond: number;
  /** CPU ms per completed request: server, sidecar(s), this benchmark client. */
  cpu: { server: number; sidecar: number; client: number };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} was not ready within ${timeoutMs / 1000} s`);
}

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = ['--import', 'tsx', 'ts/cli/serve.ts', '--port', String(port)];
  if (opts.randomModel) args.push('--random-model');
  if (opts.config) args.push('--config', path.resolve(opts.config));
  const child = spawn(process.execPath, args, {
    cwd: repoRoot(),
    env: { ...process.env, FACEATTR_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 180_000);
  return { url, child };
}

/** Runs `n` calls over `concurrency` workers; latencies in ms. */
async function run(
  url: string,
  target: string,
  worker: Worker,
  concurrency: number,
  n: number,
): Promise<Figures> {
  const calls = await Promise.all(Array.from({ length: concurrency }, worker));
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const cpuBefore = await cpuSeconds(url);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    calls.map(async (call) => {
      while (next < n) {
        next += 1;
        const t0 = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t0);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const cpuAfter = await cpuSeconds(url);
  const perRequest = (s: number) => (1000 * s) / Math.max(1, latencies.length);
  latencies.sort((a, b) => a - b);
  return {
    target,
    concurrency,
    n,
    errors,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    perSecond: latencies.length / seconds,
    cpu: {
      server: perRequest(cpuAfter.server - cpuBefore.server),
      sidecar: perRequest(cpuAfter.sidecar - cpuBefore.sidecar),
      client: perRequest((client.user + client.system) / 1e6),
    },
  };
}

/** The unlabelled metrics the server exposes now, by name. */
async function scrape(url: string): Promise<(name: string) => number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (name) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
}

/** CPU seconds used so far by the server and its model process(es). */
async function cpuSeconds(
  url: string,
): Promise<{ server: number; sidecar: number }> {
  const read = await scrape(url);
  return {
    server: read('faceattr_process_cpu_seconds_total') ?? NaN,
    sidecar: read('faceattr_sidecar_cpu_seconds') ?? NaN,
  };
}

function restWorker(url: string, image: Buffer, explain: string): Worker {
  const body = new Uint8Array(image);
  return async () => async () => {
    const res = await fetch(`${url}/api/v1/analyze?explain=${explain}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    await res.arrayBuffer();
  };
}

function gradioWorker(url: string, image: Buffer, clients: Client[]): Worker {
  return async () => {
    const client = await Client.connect(url);
    clients.push(client);
    return async () => {
      await client.predict('/predict', [
        new Blob([new Uint8Array(image)]),
        'Smile',
      ]);
    };
  };
}

async function memory(url: string): Promise<Record<string, number | null>> {
  const read = await scrape(url);
  return {
    server: read('faceattr_process_resident_memory_bytes'),
    sidecar: read('faceattr_sidecar_resident_memory_bytes'),
    hooks: read('faceattr_sidecar_gradcam_hooks'),
  };
}

/** Mean wall time of each pipeline step so far, from the server's metrics. */
async function stageMeans(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const stage of ['decode', 'detect', 'crop', 'predict', 'render']) {
    const read = (suffix: string) => {
      const m = new RegExp(
        `^faceattr_pipeline_stage_seconds_${suffix}\\{stage="${stage}"\\} (\\S+)$`,
        'm',
      ).exec(text);
      return m ? Number(m[1]) : NaN;
    };
    out[stage] = (1000 * read('sum')) / read('count');
  }
  return out;
}

const mib = (b: number | null) =>
  b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(1)} MiB`;
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

function printTable(rows: Figures[]): void {
  console.log(
    '\ntarget                    conc      n  err   p50 ms   p95 ms    req/s' +
      '   CPU ms/req: server sidecar client',
  );
  for (const r of rows) {
    console.log(
      `${r.target.padEnd(24)} ${String(r.concurrency).padStart(5)} ` +
        `${String(r.n).padStart(6)} ${String(r.errors).padStart(4)} ` +
        `${ms(r.p50).padStart(8)} ${ms(r.p95).padStart(8)} ` +
        `${r.perSecond.toFixed(2).padStart(8)} ${' '.repeat(12)}` +
        `${ms(r.cpu.server).padStart(6)} ${ms(r.cpu.sidecar).padStart(7)} ` +
        `${ms(r.cpu.client).padStart(6)}`,
    );
  }
  const targets = [...new Set(rows.map((r) => r.target))];
  for (const t of targets) {
    const one = rows.find((r) => r.target === t && r.concurrency === 1);
    const eight = rows.find((r) => r.target === t && r.concurrency === 8);
    if (one && eight) {
      console.log(
        `${t}: throughput at 8 / at 1 = ${(eight.perSecond / one.perSecond).toFixed(2)}×`,
      );
    }
  }
}

async function main(): Promise<void> {
  const image = opts.image
    ? await readFile(path.resolve(opts.image))
    : await sharp(await drawnFace({ width: 320 }))
        .jpeg({ quality: 90 })
        .toBuffer();
  const server = opts.url
    ? { url: opts.url.replace(/\/$/, ''), child: null }
    : await startServer();
  const clients: Client[] = [];
  try {
    const { url } = server;
    const concurrencies = opts.concurrency.split(',').map(Number);
    const targets: Array<[string, Worker]> = [
      ['rest explain=none', restWorker(url, image, 'none')],
      ['rest explain=both', restWorker(url, image, 'both')],
      ['gradio /predict', gradioWorker(url, image, clients)],
    ];
    await run(url, 'warm-up', restWorker(url, image, 'both'), 2, 8);
    const rows: Figures[] = [];
    for (const [name, worker] of targets) {
      for (const c of concurrencies) {
        const row = await run(
          url,
          name,
          worker,
          c,
          Math.max(opts.requests, 4 * c),
        );
        rows.push(row);
        console.log(
          `${name} c=${c}: p50 ${ms(row.p50)} ms, ${row.perSecond.toFixed(2)} req/s`,
        );
      }
    }
    printTable(rows);
    const means = await stageMeans(url);
    console.log(
      '\nmean ms per pipeline step over all requests above: ' +
        Object.entries(means)
          .map(([stage, v]) => `${stage} ${ms(v)}`)
          .join(', '),
    );

    const before = await memory(url);
    const soak = await run(
      url,
      'soak (rest, explain alternating)',
      async () => {
        let i = 0;
        const none = await restWorker(url, image, 'none')();
        const both = await restWorker(url, image, 'both')();
        return () => (i++ % 2 ? both() : none());
      },
      8,
      opts.soak,
    );
    const after = await memory(url);
    console.log(
      `\nmemory over ${soak.n} requests ` +
        `(${soak.errors} errors, ${soak.perSecond.toFixed(2)} req/s):`,
    );
    console.log(`  server RSS  ${mib(before.server)} → ${mib(after.server)}`);
    console.log(`  sidecar RSS ${mib(before.sidecar)} → ${mib(after.sidecar)}`);
    console.log(
      `  Grad-CAM hooks ${before.hooks ?? 'n/a'} → ${after.hooks ?? 'n/a'}`,
    );
  } finally {
    for (const c of clients) c.close();
    if (server.child) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child?.once('exit', r));
    }
  }
}

main().catch((err: unknown) => {
  console.error(
    `bench-service: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
