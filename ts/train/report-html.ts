/**
 * HTML building blocks of the training report: escaping, tables, canvases,
 * the page shell with its style, and the inlined Chart.js.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ChartSpec } from './report-charts.ts';

let chartJs: string | null = null;

/**
 * Chart.js's UMD build, read once. The package's exports map hides `dist/`,
 * so the file is found beside the entry point that `require` resolves.
 */
export function chartJsSource(): string {
  if (chartJs === null) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    const file = path.join(path.dirname(entry), 'chart.umd.js');
    // A literal "</script" would end the inline block early.
    chartJs = readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return chartJs;
}

/** Text and attribute values, escaped for HTML. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` are
 * written as \u escapes, so no string inside can close the element.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function num(v: number | null | undefined, digits = 3): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

export function table(
  head: readonly string[],
  rows: readonly string[][],
  labelColumns = 1,
): string {
  const cell = (tag: string, c: string, i: number) =>
    i < labelColumns
      ? `<${tag}>${c}</${tag}>`
      : `<${tag} class="n">${c}</${tag}>`;
  const th = head.map((h, i) => cell('th', h, i)).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

export function canvas(chart: ChartSpec): string {
  return (
    `<figure class="chart"><canvas id="${esc(chart.id)}" role="img" ` +
    `aria-label="${esc(chart.label)}"></canvas></figure>`
  );
}

export function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>\n${body}\n</section>`;
}

const STYLE = `
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f9fafb}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:24px}
nav a{margin-right:12px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;
padding:16px 20px;margin:20px 0}
h1{margin:0 0 4px}h2{margin:0 0 12px}h3{margin:16px 0 8px;font-size:16px}
.grid{display:grid;gap:16px;
grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr))}
.chart{margin:0;position:relative;min-width:0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;
font-size:14px;margin-bottom:8px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left}
th.n,td.n{text-align:right}
th{background:var(--bg)}
.muted,.note{color:var(--muted)}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}
.facts dt{font-weight:600}.facts dd{margin:0}
.gallery{display:grid;gap:12px;
grid-template-columns:repeat(auto-fill,minmax(180px,1fr))}
.card{margin:0;border:2px solid var(--line);border-radius:6px;padding:6px;
font-size:13px}
.card.right{border-color:#86efac}.card.wrong{border-color:#fca5a5}
.card img{width:100%;height:auto;display:block;border-radius:4px}
.card figcaption{display:flex;flex-direction:column;gap:2px;margin-top:4px}
.card code{word-break:break-all}
.noimg{aspect-ratio:1;display:grid;place-items:center;background:var(--bg)}
pre{overflow:auto;background:var(--bg);padding:12px;font-size:12px}
`;

/** Draws every chart from the JSON block once Chart.js has loaded. */
const BOOT = `
(function () {
  var payload = JSON.parse(document.getElementById('report-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  payload.charts.forEach(function (c) {
    var canvas = document.getElementById(c.id);
    if (canvas) new Chart(canvas, c.config);
  });
})();
`;

/** The complete document around the rendered sections. */
export function page(
  title: string,
  nav: readonly string[],
  sections: readonly string[],
  payload: unknown,
): string {
  const links = nav.map((id) => `<a href="#${id}">${id}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<nav>${links}</nav>
${sections.join('\n')}
</main>
<script type="application/json" id="report-data">${scriptJson(payload)}</script>
<script>${chartJsSource()}</script>
<script>${BOOT}</script>
</body>
</html>
`;
}
