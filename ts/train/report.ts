/**
 * The training run's HTML report: one self-contained file (Chart.js and the
 * data inlined, Grad-CAM images as data: URLs) that opens offline.
 */
import path from 'node:path';
import { writeAtomic } from '../data/cache.ts';
import type { Summary } from '../metrics/index.ts';
import { CLASS_NAMES, TASKS, type Task } from './evaluate.ts';
import {
  conflictChart,
  reliabilityCharts,
  rocCharts,
  subgroupCharts,
  subgroupNames,
  trainingCharts,
  type ChartSpec,
} from './report-charts.ts';
import {
  SPLITS,
  reliabilitySeries,
  rocSeries,
  subgroupTables,
  trainingSeries,
  type SubgroupTable,
} from './report-data.ts';
import { canvas, esc, num, page, section, table } from './report-html.ts';
import type { GalleryItem, ReportInput } from './report-input.ts';

/** Class names per task, negative first, as in the model card's `labels`. */
/** Section ids, in page order, for the navigation bar. */
const SECTIONS = [
  'summary',
  'curves',
  'conflict',
  'confusion',
  'roc',
  'reliability',
  'subgroups',
  'gallery',
  'config',
];

function stopText(input: ReportInput): string {
  const ran = input.history.length;
  const { epochs, earlyStopPatience } = input.config;
  if (input.stopped === 'early') {
    return (
      `early, after ${ran} of ${epochs} epochs ` +
      `(no gain for ${earlyStopPatience} epochs)`
    );
  }
  if (input.stopped === 'done') return `done: ran ${ran} of ${epochs} epochs`;
  return `not recorded (${ran} of ${epochs} epochs ran)`;
}

function summarySection(input: ReportInput): string {
  const { best, calibration } = input;
  const bestText =
    best.epoch < 0 ? 'none (no epoch finished)' : `${best.epoch} (from 0)`;
  const facts = [
    ['Best epoch', esc(bestText)],
    [
      'Selection metric',
      `${num(best.metric)} — mean balanced accuracy over tasks, ` +
        'validation, all data sets, threshold 0.5',
    ],
    ['Stopped', esc(stopText(input))],
    ['Created', esc(input.created)],
  ];
  const dl = facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
  const cal = table(
    ['task', 'threshold', 'temperature'],
    TASKS.map((t) => [
      esc(t),
      num(calibration.thresholds[t]),
      num(calibration.temperature[t]),
    ]),
  );
  return section(
    'summary',
    'Summary',
    `<dl class="facts">${dl}</dl>\n<div class="grid">` +
      `<div><h3>Calibration (fitted on validation)</h3>${cal}</div>` +
      `<div><h3>Images per data set</h3>${countsTable(input)}</div></div>\n` +
      `<h3>Headline metrics (calibrated)</h3>${headlineTable(input)}`,
  );
}

function countsTable(input: ReportInput): string {
  const sets = Object.keys(input.counts).sort();
  const splits = [
    ...new Set(sets.flatMap((s) => Object.keys(input.counts[s]))),
  ];
  return table(
    ['data set', ...splits.map(esc)],
    sets.map((s) => [
      esc(s),
      ...splits.map((sp) => String(input.counts[s][sp] ?? 0)),
    ]),
  );
}

function headlineTable(input: ReportInput): string {
  const rows: string[][] = [];
  for (const split of SPLITS) {
    const groups = input.summaries[split] ?? {};
    const names = Object.keys(groups).sort((a, b) =>
      a === 'all' ? -1 : b === 'all' ? 1 : a.localeCompare(b),
    );
    for (const group of names) {
      for (const task of TASKS) {
        const s: Summary | undefined = groups[group][task];
        if (!s) continue;
        rows.push([
          split,
          esc(group),
          task,
          String(s.n),
          num(s.accuracy),
          num(s.balanced_accuracy),
          num(s.f1),
          num(s.auc),
          num(s.ece),
        ]);
      }
    }
  }
  const head = ['split', 'group', 'task', 'n', 'accuracy', 'bal. acc.'];
  return table([...head, 'F1', 'AUC', 'ECE'], rows, 3);
}

const CONFLICT_NOTE =
  'The cosine compares the gender and smile gradients on the shared trunk ' +
  'at sampled steps: near 1 the tasks push the weights the same way, below ' +
  '0 one task’s update undoes part of the other’s, so a high fraction of ' +
  'negative steps means the tasks compete for the trunk.';

function curvesSections(
  input: ReportInput,
  charts: readonly ChartSpec[],
  conflict: ChartSpec,
): string {
  const measured = input.history.some((e) => e.gradCosine !== null);
  const none = measured
    ? ''
    : '<p class="note">Not measured in this run (conflictEvery = 0).</p>';
  return (
    section(
      'curves',
      'Training curves',
      `<div class="grid">${charts.map(canvas).join('')}</div>`,
    ) +
    section(
      'conflict',
      'Gradient conflict',
      `<div class="grid"><div><p>${esc(CONFLICT_NOTE)}</p>${none}</div>` +
        `${canvas(conflict)}</div>`,
    )
  );
}

function confusionTable(task: Task, s: Summary): string {
  const [neg, pos] = CLASS_NAMES[task];
  const { tp, fp, tn, fn } = s.confusion;
  const cell = (v: number, row: number) => {
    const share = row ? ((100 * v) / row).toFixed(1) : '0.0';
    return `${v} <span class="muted">(${share}%)</span>`;
  };
  return table(
    ['true \\ predicted', esc(neg), esc(pos)],
    [
      [esc(neg), cell(tn, tn + fp), cell(fp, tn + fp)],
      [esc(pos), cell(fn, fn + tp), cell(tp, fn + tp)],
    ],
  );
}

function confusionSection(input: ReportInput): string {
  const blocks: string[] = [];
  for (const split of SPLITS) {
    for (const task of TASKS) {
      const s = input.summaries[split]?.all?.[task];
      if (!s) continue;
      blocks.push(
        `<div><h3>${task}, ${split} ` +
          `<span class="muted">(threshold ${num(s.threshold)}, ` +
          `n=${s.n})</span></h3>${confusionTable(task, s)}</div>`,
      );
    }
  }
  const body = blocks.length
    ? `<div class="grid">${blocks.join('')}</div>`
    : '<p class="note">No summaries.</p>';
  return section('confusion', 'Confusion matrices (all data sets)', body);
}

function chartsSection(
  id: string,
  title: string,
  intro: string,
  charts: ChartSpec[],
): string {
  const body = charts.length
    ? `<div class="grid">${charts.map(canvas).join('')}</div>`
    : '<p class="note">No labelled images scored.</p>';
  return section(id, title, `<p>${esc(intro)}</p>${body}`);
}

function subgroupTable(rows: readonly SubgroupTable[]): string {
  const groups = subgroupNames(rows);
  const head = ['group', ...rows.map((t) => `${t.task} ${t.split}`)];
  return table(
    head,
    groups.map((g) => [
      esc(g),
      ...rows.map((t) => {
        const a = t.groups[g];
        return a
          ? `${num(a.accuracy)} <span class="muted">(${a.n})</span>`
          : '—';
      }),
    ]),
  );
}

function subgroupSection(
  tables: readonly SubgroupTable[],
  charts: readonly ChartSpec[],
): string {
  const columns = [...new Set(tables.map((t) => t.column))];
  const blocks = columns.map((column, i) => {
    const rows = tables.filter((t) => t.column === column);
    return (
      `<h3>By ${esc(column)}</h3><div class="grid">` +
      `<div>${subgroupTable(rows)}</div>${canvas(charts[i])}</div>`
    );
  });
  return section(
    'subgroups',
    'Accuracy by subgroup',
    '<p>Accuracy at the calibrated thresholds; the number of labelled ' +
      'images is in brackets.</p>' +
      (blocks.join('\n') || '<p class="note">No labelled images.</p>'),
  );
}

const DATA_IMAGE = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=]+$/;

function galleryCard(item: GalleryItem): string {
  const img = DATA_IMAGE.test(item.png)
    ? `<img src="${item.png}" alt="Grad-CAM of ${esc(item.file)}">`
    : '<div class="noimg">no image</div>';
  const kind = item.correct ? 'right' : 'wrong';
  return (
    `<figure class="card ${kind}">${img}<figcaption>` +
    `<code>${esc(item.file)}</code>` +
    `<span>${esc(item.split)} · ${esc(item.dataset)}</span>` +
    `<span>truth <b>${esc(item.truth)}</b>, predicted ` +
    `<b>${esc(item.predicted)}</b> (p ${num(item.probability, 2)})</span>` +
    '</figcaption></figure>'
  );
}

function gallerySection(items: readonly GalleryItem[]): string {
  const blocks: string[] = [];
  for (const task of TASKS) {
    for (const correct of [true, false]) {
      const shown = items.filter(
        (g) => g.task === task && g.correct === correct,
      );
      if (shown.length === 0) continue;
      blocks.push(
        `<h3>${task}: ${correct ? 'right' : 'wrong'} (${shown.length})</h3>` +
          `<div class="gallery">${shown.map(galleryCard).join('')}</div>`,
      );
    }
  }
  return section(
    'gallery',
    'Grad-CAM gallery',
    '<p>Each map explains the predicted class; p is its calibrated ' +
      'probability.</p>' +
      (blocks.join('\n') || '<p class="note">No examples.</p>'),
  );
}

/**
 * The whole report as one HTML document: summary, training curves,
 * gradient conflict, confusion matrices, ROC curves, reliability diagrams,
 * subgroup accuracy and the Grad-CAM gallery. The chart data is embedded as
 * JSON (`#report-data`): `charts` (Chart.js configs) plus `training`, `roc`
 * (AUC per split, task and group), `reliability` and `subgroups`.
 */
export function renderReport(input: ReportInput): string {
  const roc = rocSeries(input.scored);
  const reliability = reliabilitySeries(input.scored, input.calibration);
  const subgroups = subgroupTables(input.scored, input.calibration);
  const training = trainingSeries(input.history);
  const charts = {
    training: trainingCharts(training, input.best),
    conflict: conflictChart(training),
    roc: rocCharts(roc),
    reliability: reliabilityCharts(reliability),
    subgroups: subgroupCharts(subgroups),
  };
  const payload = {
    charts: [
      ...charts.training,
      charts.conflict,
      ...charts.roc,
      ...charts.reliability,
      ...charts.subgroups,
    ],
    training,
    roc: roc.map(({ points: _points, ...rest }) => rest),
    reliability,
    subgroups,
  };
  const body = [
    summarySection(input),
    curvesSections(input, charts.training, charts.conflict),
    confusionSection(input),
    chartsSection(
      'roc',
      'ROC curves',
      'From the raw logits, one line per data set plus all of them.',
      charts.roc,
    ),
    chartsSection(
      'reliability',
      'Reliability',
      'Calibrated probabilities p = sigmoid(logit / T) in ten bins: each bar ' +
        'is the observed positive rate in its bin, and a calibrated model ' +
        'follows the diagonal.',
      charts.reliability,
    ),
    subgroupSection(subgroups, charts.subgroups),
    gallerySection(input.gallery),
    section(
      'config',
      'Configuration',
      `<details><summary>Training configuration</summary><pre>` +
        `${esc(JSON.stringify(input.config, null, 2))}</pre></details>`,
    ),
  ];
  return page(input.title, SECTIONS, body, payload);
}

/** Writes `<outDir>/report.html` atomically and returns its path. */
export async function writeReport(
  outDir: string,
  input: ReportInput,
): Promise<string> {
  const file = path.join(outDir, 'report.html');
  await writeAtomic(file, renderReport(input));
  return file;
}
