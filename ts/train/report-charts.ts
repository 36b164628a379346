/**
 * Chart.js configurations for the training report. They are plain JSON (no
 * callbacks) because they travel to the page inside a
 * `<script type="application/json">` block; the page only calls
 * `new Chart(canvas, config)` for each.
 */
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { TASKS, type Task } from './evaluate.ts';
import type {
  ReliabilitySeries,
  RocSeries,
  Split,
  SubgroupTable,
  TrainingSeries,
  XY,
} from './report-data.ts';

/** One chart: the canvas id, and what Chart.js draws on it. */
export interface ChartSpec {
  id: string;
  /** Said to screen readers as the canvas's label. */
  label: string;
  config: ChartConfiguration;
}

const INK = '#1f2937';
const GRID = '#9ca3af';
const TASK_COLOR: Record<Task, string> = {
  gender: '#2563eb',
  smile: '#d97706',
};
const GROUP_COLORS = [
  INK,
  '#2563eb',
  '#16a34a',
  '#dc2626',
  '#9333ea',
  '#0891b2',
  '#ca8a04',
  '#db2777',
];
/** Test results are dashed (lines) or pale (bars) beside validation. */
const TEST_DASH = [6, 4];

function fmt(v: number | null, digits = 3): string {
  return v === null ? 'n/a' : v.toFixed(digits);
}

type LineSet = ChartDataset<'line', XY[]>;

function line(label: string, data: XY[], color: string): LineSet {
  return {
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    pointRadius: 2,
    borderWidth: 2,
    spanGaps: false,
  };
}

interface Axes {
  x: string;
  y: string;
  /** A fixed x range (rates); without it x counts epochs, in whole steps. */
  xRange?: [number, number];
  yMin?: number;
  yMax?: number;
}

function lineChart(
  title: string,
  datasets: LineSet[],
  axes: Axes,
): ChartConfiguration<'line', XY[]> {
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: { title: { display: true, text: title } },
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: axes.x },
          ticks: { precision: axes.xRange ? undefined : 0 },
          min: axes.xRange?.[0],
          max: axes.xRange?.[1],
        },
        y: {
          title: { display: true, text: axes.y },
          min: axes.yMin,
          max: axes.yMax,
        },
      },
    },
  };
}

function spec(id: string, label: string, config: unknown): ChartSpec {
  // The typed builders check each config; the list holds them as one type.
  return { id, label, config: config as ChartConfiguration };
}

/** Losses, validation metrics, learning rate and speed per epoch. */
export function trainingCharts(
  s: TrainingSeries,
  best: { epoch: number; metric: number },
): ChartSpec[] {
  const epoch = 'epoch (from 0)';
  const losses = [
    line('total', s.loss, INK),
    ...TASKS.map((t) => line(t, s.lossByTask[t], TASK_COLOR[t])),
  ];
  const bestPoint: LineSet = {
    ...line('best epoch', [{ x: best.epoch, y: best.metric }], '#dc2626'),
    pointRadius: 7,
    pointStyle: 'star',
    showLine: false,
  };
  const val = [
    ...TASKS.map((t) =>
      line(`${t} balanced acc.`, s.valBalancedAccuracy[t], TASK_COLOR[t]),
    ),
    { ...line('selection metric', s.metric, INK), borderWidth: 3 },
    bestPoint,
  ];
  return [
    spec(
      'chart-loss',
      'Training loss per epoch',
      lineChart('Training loss (mean over the epoch)', losses, {
        x: epoch,
        y: 'loss',
      }),
    ),
    spec(
      'chart-val',
      'Validation balanced accuracy per epoch',
      lineChart('Validation balanced accuracy (uncalibrated)', val, {
        x: epoch,
        y: 'balanced accuracy',
      }),
    ),
    spec(
      'chart-lr',
      'Learning rate per epoch',
      lineChart(
        'Learning rate (at the epoch’s last step)',
        [line('lr', s.lr, INK)],
        { x: epoch, y: 'learning rate' },
      ),
    ),
    spec(
      'chart-speed',
      'Training speed per epoch',
      lineChart('Training speed', [line('images/s', s.imagesPerSecond, INK)], {
        x: epoch,
        y: 'images per second',
        yMin: 0,
      }),
    ),
  ];
}

/** Gradient cosine (left axis) and the share of conflicting steps (right). */
export function conflictChart(s: TrainingSeries): ChartSpec {
  const config = lineChart(
    'Gradient conflict between the tasks (shared trunk)',
    [
      { ...line('mean cosine', s.gradCosine, INK), yAxisID: 'y' },
      {
        ...line('fraction of steps < 0', s.gradCosineNegative, '#dc2626'),
        yAxisID: 'y1',
        borderDash: TEST_DASH,
      },
    ],
    { x: 'epoch (from 0)', y: 'mean cosine', yMin: -1, yMax: 1 },
  );
  config.options = {
    ...config.options,
    scales: {
      ...config.options?.scales,
      y1: {
        position: 'right',
        min: 0,
        max: 1,
        title: { display: true, text: 'fraction negative' },
        grid: { drawOnChartArea: false },
      },
    },
  };
  return spec('chart-conflict', 'Gradient conflict per epoch', config);
}

/** One ROC chart per split and task; one line per group, AUC in the legend. */
export function rocCharts(series: readonly RocSeries[]): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const split of ['val', 'test'] as const) {
    for (const task of TASKS) {
      const curves = series.filter((r) => r.split === split && r.task === task);
      if (curves.length === 0) continue;
      const datasets: LineSet[] = curves.map((r, i) => ({
        ...line(
          `${r.group} (AUC ${fmt(r.auc)}, n=${r.n})`,
          r.points,
          GROUP_COLORS[i % GROUP_COLORS.length],
        ),
        pointRadius: 0,
        borderWidth: r.group === 'all' ? 3 : 1.5,
      }));
      const chance: LineSet = {
        ...line(
          'chance',
          [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
          GRID,
        ),
        pointRadius: 0,
        borderWidth: 1,
        borderDash: TEST_DASH,
      };
      const config = lineChart(
        `ROC: ${task}, ${split}`,
        [...datasets, chance],
        {
          x: 'false positive rate',
          y: 'true positive rate',
          xRange: [0, 1],
          yMin: 0,
          yMax: 1,
        },
      );
      config.options = { ...config.options, aspectRatio: 1.15 };
      out.push(
        spec(`chart-roc-${split}-${task}`, `ROC ${task} ${split}`, config),
      );
    }
  }
  return out;
}

/**
 * One reliability diagram per task: the observed positive rate per bin of
 * calibrated probability (validation and test bars) against the diagonal.
 */
export function reliabilityCharts(
  series: readonly ReliabilitySeries[],
): ChartSpec[] {
  return TASKS.map((task) => {
    const rows = series.filter((r) => r.task === task);
    const bins = rows[0]?.bins ?? [];
    const labels = bins.map((b) => `${b.lo.toFixed(1)}–${b.hi.toFixed(1)}`);
    const ece = rows.map((r) => `${r.split} ${fmt(r.ece)}`).join(', ');
    const bars = rows.map((r) => ({
      type: 'bar' as const,
      label: `${r.split}: observed positive rate (n=${r.n})`,
      data: r.bins.map((b) => b.fractionPositive),
      backgroundColor: splitColor(TASK_COLOR[task], r.split),
      order: 2,
    }));
    const diagonal = {
      type: 'line' as const,
      label: 'perfect calibration',
      data: bins.map((b) => (b.lo + b.hi) / 2),
      borderColor: INK,
      borderDash: TEST_DASH,
      borderWidth: 1.5,
      pointRadius: 0,
      order: 1,
    };
    const config: ChartConfiguration<'bar' | 'line', (number | null)[]> = {
      type: 'bar',
      data: { labels, datasets: [...bars, diagonal] },
      options: {
        aspectRatio: 1.3,
        plugins: {
          title: { display: true, text: `Reliability: ${task} (ECE ${ece})` },
        },
        scales: {
          x: { title: { display: true, text: 'calibrated probability' } },
          y: {
            min: 0,
            max: 1,
            title: { display: true, text: 'fraction positive' },
          },
        },
      },
    };
    return spec(`chart-reliability-${task}`, `Reliability ${task}`, config);
  });
}

function splitColor(color: string, split: Split): string {
  return split === 'val' ? color : `${color}88`;
}

/** One bar chart per column: accuracy per group, per task and split. */
export function subgroupCharts(tables: readonly SubgroupTable[]): ChartSpec[] {
  const columns = [...new Set(tables.map((t) => t.column))];
  return columns.map((column) => {
    const rows = tables.filter((t) => t.column === column);
    const groups = subgroupNames(rows);
    const datasets = rows.map((t) => ({
      label: `${t.task} ${t.split}`,
      data: groups.map((g) => t.groups[g]?.accuracy ?? null),
      backgroundColor: splitColor(TASK_COLOR[t.task], t.split),
    }));
    const config: ChartConfiguration<'bar', (number | null)[]> = {
      type: 'bar',
      data: { labels: groups, datasets },
      options: {
        plugins: {
          title: {
            display: true,
            text: `Accuracy by ${column} (calibrated thresholds)`,
          },
        },
        scales: {
          y: { min: 0, max: 1, title: { display: true, text: 'accuracy' } },
        },
      },
    };
    return spec(
      `chart-subgroup-${slug(column)}`,
      `Accuracy by ${column}`,
      config,
    );
  });
}

/** Group names across a column's tables, in the tables' (natural) order. */
export function subgroupNames(rows: readonly SubgroupTable[]): string[] {
  const names: string[] = [];
  for (const t of rows) {
    for (const g of Object.keys(t.groups))
      if (!names.includes(g)) names.push(g);
  }
  return names;
}

/** A safe id fragment for any column name; distinct names stay distinct. */
export function slug(name: string): string {
  const plain = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const hash = [...name].reduce(
    (h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0,
    7,
  );
  return `${plain}-${hash.toString(36)}`;
}
