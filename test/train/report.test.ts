import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAtomic } from '../../ts/data/cache.ts';
import { Rng } from '../../ts/data/random.ts';
import {
  rocAuc,
  summarize,
  type Label,
  type Summary,
} from '../../ts/metrics/index.ts';
import { trainConfigSchema } from '../../ts/train/config.ts';
import { TASKS, type Task } from '../../ts/train/evaluate.ts';
import type { EpochEntry } from '../../ts/train/loop.ts';
import {
  decadeOf,
  reliabilitySeries,
  subgroupColumns,
  subgroupTables,
  taskSamples,
  thinCurve,
  type RocSeries,
} from '../../ts/train/report-data.ts';
import { chartJsSource, scriptJson } from '../../ts/train/report-html.ts';
import type {
  GalleryItem,
  ReportInput,
  ScoredImage,
} from '../../ts/train/report-input.ts';
import { renderReport, writeReport } from '../../ts/train/report.ts';

const EVIL = '</script><script>alert(1)</script>';
const NAMES = {
  gender: ['female', 'male'],
  smile: ['not_smiling', 'smiling'],
} as const;
const CALIBRATION = {
  thresholds: { gender: 0.45, smile: 0.55 },
  temperature: { gender: 1.5, smile: 0.8 },
};

/** Two data sets: "celeba" labels both tasks, "utk" only gender + meta. */
function scoredImages(rng: Rng): ScoredImage[] {
  const races = ['0', '1', '2', EVIL];
  return Array.from({ length: 64 }, (_, i): ScoredImage => {
    const utk = i % 2 === 1;
    const male: Label = rng.next() < 0.5 ? 1 : 0;
    const smiling: Label = rng.next() < 0.4 ? 1 : 0;
    const noise = () => rng.uniform(-2.5, 2.5);
    return {
      dataset: utk ? 'utk' : 'celeba',
      split: i < 32 ? 'val' : 'test',
      meta: utk
        ? {
            age: String(Math.floor(rng.uniform(1, 80))),
            race: races[(i >> 1) % 4],
          }
        : { identity: String(i) },
      labels: { gender: male, smile: utk ? null : smiling },
      logits: {
        gender: (male ? 1.5 : -1.5) + noise(),
        smile: (smiling ? 1 : -1) + noise(),
      },
    };
  });
}

function summaries(scored: ScoredImage[]): ReportInput['summaries'] {
  const out: ReportInput['summaries'] = { val: {}, test: {} };
  for (const split of ['val', 'test'] as const) {
    for (const group of ['all', 'celeba', 'utk']) {
      const tasks: Partial<Record<Task, Summary>> = {};
      for (const task of TASKS) {
        const { y, z } = taskSamples(scored, split, task, group);
        if (y.length === 0) continue;
        tasks[task] = summarize(y, z, {
          threshold: CALIBRATION.thresholds[task],
          temperature: CALIBRATION.temperature[task],
        });
      }
      out[split][group] = tasks;
    }
  }
  return out;
}

function history(rng: Rng): EpochEntry[] {
  return Array.from({ length: 6 }, (_, epoch) => ({
    epoch,
    steps: 100,
    seconds: 30,
    imagesPerSecond: 400 + rng.uniform(-40, 40),
    lr: 6e-4 * Math.cos((epoch / 6) * (Math.PI / 2)),
    loss: 1.3 * Math.exp(-epoch / 3) + 0.2,
    losses: {
      gender: 0.6 * Math.exp(-epoch / 3) + 0.1,
      smile: epoch === 2 ? null : 0.7 * Math.exp(-epoch / 4) + 0.1,
    },
    gradCosine: epoch === 0 ? null : rng.uniform(-0.2, 0.4),
    gradCosineNegative: epoch === 0 ? null : rng.uniform(0.1, 0.5),
    val: {
      all: {
        gender: { balanced_accuracy: 0.7 + epoch * 0.04 } as Summary,
        smile: { balanced_accuracy: 0.65 + epoch * 0.03 } as Summary,
      },
    },
    metric: 0.675 + epoch * 0.035,
  }));
}

function galleryItems(png: string): GalleryItem[] {
  return TASKS.flatMap((task) =>
    [true, true, true, false, false].map((correct, k) => ({
      task,
      split: 'test' as const,
      dataset: k % 2 ? 'utk' : 'celeba',
      file: k === 4 && task === 'smile' ? `${EVIL}.jpg` : `${task}_${k}.jpg`,
      correct,
      truth: NAMES[task][1],
      predicted: NAMES[task][correct ? 1 : 0],
      probability: 0.6 + k * 0.07,
      png,
    })),
  );
}

async function heatPng(): Promise<string> {
  const size = 96;
  const raw = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - 48, y - 44) / 48;
      const o = (y * size + x) * 3;
      raw[o] = Math.round(255 * Math.max(0, 1 - d));
      raw[o + 1] = Math.round(120 * (1 - Math.abs(d - 0.5)));
      raw[o + 2] = Math.round(255 * Math.min(1, d));
    }
  }
  const png = await sharp(raw, {
    raw: { width: size, height: size, channels: 3 },
  })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

async function syntheticInput(): Promise<ReportInput> {
  const rng = new Rng(7);
  const scored = scoredImages(rng);
  return {
    title: 'Synthetic run',
    created: '2026-01-01T00:00:00.000Z',
    config: trainConfigSchema.parse({ data: ['data/celeba', 'data/utk'] }),
    history: history(rng),
    best: { epoch: 5, metric: 0.85 },
    stopped: 'done',
    calibration: CALIBRATION,
    summaries: summaries(scored),
    scored,
    gallery: galleryItems(await heatPng()),
    counts: {
      celeba: { train: 800, val: 16, test: 16 },
      utk: { train: 800, val: 16, test: 16 },
    },
  };
}

interface Payload {
  charts: { id: string; config: { data: { datasets: { label: string }[] } } }[];
  roc: Omit<RocSeries, 'points'>[];
}

function payloadOf(html: string): Payload {
  const m =
    /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(
      html,
    );
  if (!m) throw new Error('no data block');
  return JSON.parse(m[1]) as Payload;
}

/** Each table row's cell texts, joined by "|". */
function tableRows(html: string): string[] {
  return [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)]
      .map((c) => c[1])
      .join('|'),
  );
}

describe('renderReport', () => {
  let input: ReportInput;
  let html: string;

  beforeAll(async () => {
    input = await syntheticInput();
    html = renderReport(input);
  });

  it('inlines the Chart.js UMD build', () => {
    const file = path.join('node_modules', 'chart.js', 'dist', 'chart.umd.js');
    const header = readFileSync(file, 'utf8').slice(0, 200);
    expect(header).toContain('Chart.js v4');
    expect(html).toContain(header);
    expect(html).toContain(chartJsSource());
  });

  it('references nothing remote', () => {
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
  });

  it('has one canvas per chart, each with its own id', () => {
    const ids = [...html.matchAll(/<canvas id="([^"]+)"/g)].map((m) => m[1]);
    const charts = payloadOf(html).charts.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual([...charts].sort());
    // 4 curves + conflict + 4 ROC + 2 reliability + dataset/age/race
    expect(ids).toHaveLength(14);
  });

  it('embeds ROC AUCs equal to rocAuc on the scored logits', () => {
    const { roc, charts } = payloadOf(html);
    // 2 splits × (gender: all + 2 sets; smile: all + celeba)
    expect(roc).toHaveLength(10);
    for (const r of roc) {
      const { y, z } = taskSamples(input.scored, r.split, r.task, r.group);
      expect(r.auc).toBe(rocAuc(y, z));
      expect(r.n).toBe(y.length);
    }
    const chart = charts.find((c) => c.id === 'chart-roc-test-gender');
    const all = roc.find((r) => r.split === 'test' && r.group === 'all');
    const legend = chart?.config.data.datasets.map((d) => d.label) ?? [];
    expect(legend).toContain(`all (AUC ${all?.auc?.toFixed(3)}, n=${all?.n})`);
  });

  it('keeps a </script> in a file name or meta value in its element', () => {
    const opened = html.match(/<script\b/gi) ?? [];
    const closed = html.match(/<\/script/gi) ?? [];
    expect(opened).toHaveLength(3);
    expect(closed).toHaveLength(3);
    expect(html).toContain('&#60;/script&#62;&#60;script&#62;alert(1)');
    expect(JSON.stringify(payloadOf(html))).toContain(EVIL);
  });

  it('shows every gallery item with file, truth, prediction and p', () => {
    const cards = html.match(/<figure class="card (right|wrong)">/g) ?? [];
    expect(cards).toHaveLength(input.gallery.length);
    expect(html.match(/class="card wrong"/g)).toHaveLength(4);
    for (const g of input.gallery) {
      expect(html).toContain(
        `<code>${g.file.replace(/</g, '&#60;').replace(/>/g, '&#62;')}</code>`,
      );
      expect(html).toContain(`(p ${g.probability.toFixed(2)})`);
    }
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(10);
  });

  it('lists calibration and headline metrics of every split and group', () => {
    const rows = tableRows(html);
    expect(rows).toContain('gender|0.450|1.500');
    for (const split of ['val', 'test'] as const) {
      for (const [group, tasks] of Object.entries(input.summaries[split])) {
        for (const [task, s] of Object.entries(tasks)) {
          const metrics = [s.accuracy, s.balanced_accuracy, s.f1, s.auc, s.ece];
          expect(rows).toContain(
            [
              split,
              group,
              task,
              s.n,
              ...metrics.map((v) => v?.toFixed(3)),
            ].join('|'),
          );
        }
      }
    }
  });

  it('leaves out an image that is not a data: URL', () => {
    const bad = renderReport({
      ...input,
      gallery: [{ ...input.gallery[0], png: 'https://example.com/x.png' }],
    });
    expect(bad).not.toContain('example.com');
    expect(bad).toContain('no image');
  });

  it('renders a run with no history, scores or gallery', () => {
    const empty = renderReport({
      ...input,
      history: [],
      scored: [],
      gallery: [],
      summaries: { val: {}, test: {} },
      best: { epoch: -1, metric: 0 },
      stopped: null,
    });
    expect(empty).toContain('none (no epoch finished)');
    expect(empty).toContain('No labelled images scored.');
    expect(payloadOf(empty).roc).toEqual([]);
  });
});

describe('report data', () => {
  let input: ReportInput;
  beforeAll(async () => {
    input = await syntheticInput();
  });

  it('buckets ages into decades and keeps only few-valued meta columns', () => {
    expect(decadeOf('27')).toBe('20–29');
    expect(decadeOf('7')).toBe('0–9');
    expect(decadeOf('n/a')).toBeNull();
    const columns = subgroupColumns(input.scored).map((c) => c.column);
    expect(columns).toEqual(['dataset', 'age', 'race']);
  });

  it('computes subgroup accuracy at the calibrated threshold', () => {
    const tables = subgroupTables(input.scored, input.calibration);
    const t = tables.find(
      (r) => r.column === 'race' && r.task === 'gender' && r.split === 'val',
    );
    const rows = input.scored.filter(
      (s) => s.split === 'val' && s.meta.race === '1',
    );
    const correct = rows.filter((s) => {
      const p = 1 / (1 + Math.exp(-s.logits.gender / 1.5));
      return (p >= 0.45 ? 1 : 0) === s.labels.gender;
    }).length;
    expect(t?.groups['1']).toEqual({
      n: rows.length,
      correct,
      accuracy: correct / rows.length,
    });
    // utk has no smile labels, so its meta columns get gender tables only
    const race = tables.filter((r) => r.column === 'race');
    expect(race.map((r) => `${r.task} ${r.split}`)).toEqual([
      'gender val',
      'gender test',
    ]);
    const ages = tables.find((r) => r.column === 'age')?.groups ?? {};
    const order = Object.keys(ages);
    expect(order).toEqual([...order].sort((a, b) => parseInt(a) - parseInt(b)));
  });

  it('gives the same ECE as the summaries', () => {
    for (const r of reliabilitySeries(input.scored, input.calibration)) {
      const summary = input.summaries[r.split].all[r.task];
      expect(r.ece).toBeCloseTo(summary?.ece as number, 12);
      expect(r.bins.reduce((a, b) => a + b.count, 0)).toBe(r.n);
    }
  });

  it('thins a long curve to the cap, keeping both ends', () => {
    const points = Array.from({ length: 5000 }, (_, k) => ({
      x: k / 4999,
      y: Math.sqrt(k / 4999),
    }));
    const thin = thinCurve(points, 400);
    expect(thin.length).toBeLessThanOrEqual(400);
    expect(thin.length).toBeGreaterThan(300);
    expect(thin[0]).toBe(points[0]);
    expect(thin.at(-1)).toBe(points.at(-1));
    expect(thinCurve(points.slice(0, 10), 400)).toHaveLength(10);
  });

  it('writes JSON that no string can break out of', () => {
    const text = scriptJson({ a: '</script><!-- & \u2028' });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ a: '</script><!-- & \u2028' });
  });
});

describe('writeReport', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'report-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes report.html atomically and returns its path', async () => {
    const input = await syntheticInput();
    const file = await writeReport(path.join(dir, 'run'), input);
    expect(file).toBe(path.join(dir, 'run', 'report.html'));
    expect(readFileSync(file, 'utf8')).toBe(renderReport(input));
    expect(readdirSync(path.join(dir, 'run'))).toEqual(['report.html']);
    // A sample to open in a browser (test-artifacts/ is git-ignored).
    await writeAtomic('test-artifacts/report-sample.html', renderReport(input));
    expect(existsSync('test-artifacts/report-sample.html')).toBe(true);
  });
});
