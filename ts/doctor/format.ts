import type { DoctorReport } from './types.ts';

const MARK = { ok: 'ok  ', warn: 'WARN', error: 'FAIL' } as const;

/** The report as lines of text for a terminal or a start-up error. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines = [
    `Python   ${report.python.path} (${report.python.version ?? 'unknown'})`,
  ];
  if (report.threads) {
    const { before, after, requested } = report.threads;
    lines.push(
      `Threads  torch started with ${before}; set to ${requested}: ${after}`,
    );
  }
  lines.push('');
  for (const check of report.checks) {
    lines.push(
      `${MARK[check.status]}  ${check.name.padEnd(12)} ${check.detail}`,
    );
  }
  if (report.fixes.length > 0) {
    lines.push('', 'To fix:');
    for (const fix of report.fixes) lines.push(`  ${fix}`);
  }
  lines.push('', report.ok ? 'Ready.' : 'Not ready: see FAIL above.');
  return lines.join('\n');
}
