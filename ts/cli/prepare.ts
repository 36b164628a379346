import { Command } from 'commander';
import path from 'node:path';
import { loadConfig, repoRoot } from '../config/index.ts';
import { createLogger } from '../logging.ts';
import { startSidecar } from '../sidecar/supervisor.ts';
import { loadTrainConfig } from '../train/config.ts';
import { prepareAll } from './prepare-all.ts';

// npm runs a script named "prepare" after every `npm install`/`npm ci`; only
// an explicit `npm run prepare -- <dirs>` should prepare data. npm 7–10 name
// that command "run-script", npm 11 "run".
if (
  process.env.npm_lifecycle_event === 'prepare' &&
  !['run', 'run-script'].includes(process.env.npm_command ?? '')
) {
  process.exit(0);
}

const program = new Command('prepare')
  .description(
    'Decode, detect, crop and cache labelled face folders for training',
  )
  .argument('[datasets...]', 'folders with images/ and labels.csv')
  .option('--train-config <file>', 'training config', 'configs/train.json')
  .option('--config <file>', 'service config (detector, limits)')
  .option('--cache-dir <dir>', 'where prepared data goes')
  .parse();

const opts = program.opts<{
  trainConfig: string;
  config?: string;
  cacheDir?: string;
}>();
const config = loadConfig({
  file: opts.config,
  overrides: { model: { checkpoint: null } },
});
const log = createLogger({
  level: config.log.level,
  base: { component: 'prepare' },
});
const train = await loadTrainConfig(fromRoot(opts.trainConfig));
const sources =
  program.args.length > 0 ? program.args : train.data.map((d) => fromRoot(d));
const sidecar = await startSidecar(config, { logger: log });
try {
  await prepareAll(
    sources,
    fromRoot(opts.cacheDir ?? train.cacheDir),
    config,
    train,
    sidecar,
    log,
  );
} finally {
  await sidecar.close();
}

function fromRoot(p: string): string {
  return path.resolve(repoRoot(), p);
}
