/**
 * `npm run doctor [-- --json] [--config file] [--timeout ms] [--serving]`:
 * checks the Python environment the sidecar will run in and says what to
 * install. Exit code 0 when ready, 1 when not, 2 when the config is invalid.
 */
import { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { formatDoctorReport, runDoctor } from '../doctor/index.ts';
import { isAppError } from '../errors.ts';

const program = new Command('doctor')
  .description('Check the Python environment of the sidecar')
  .option('--config <file>', 'service config file')
  .option('--json', 'print the report as JSON')
  .option('--timeout <ms>', 'give up on Python after this long', '120000')
  .option('--serving', 'a missing checkpoint is an error, as for serving')
  .parse();

const opts = program.opts<{
  config?: string;
  json?: boolean;
  timeout: string;
  serving?: boolean;
}>();

let exitCode: number;
try {
  const config = loadConfig({ file: opts.config });
  const report = await runDoctor(config, {
    timeoutMs: Number(opts.timeout),
    requireCheckpoint: opts.serving ?? false,
  });
  console.log(
    opts.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report),
  );
  exitCode = report.ok ? 0 : 1;
} catch (err: unknown) {
  if (!isAppError(err) || err.code !== 'CONFIG_INVALID') throw err;
  console.error(err.message);
  exitCode = 2;
}
// pythonia may hold timers after a timeout; the report is out, so leave.
process.exit(exitCode);
