import cliProgress from 'cli-progress';

/** A progress bar on stderr, so stdout stays clean for logs and JSON. */
export function progressBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      fps: 2,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 30_000,
    },
    cliProgress.Presets.shades_classic,
  );
}
