import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig, repoRoot } from '../config/index.ts';
import { writeAtomic } from '../data/cache.ts';
import { createLogger } from '../logging.ts';
import type { ModelCard } from '../protocol/index.ts';
import { startSidecar } from '../sidecar/supervisor.ts';
import { loadTrainConfig } from '../train/config.ts';
import { Combined } from '../train/dataset.ts';
import { finalize } from '../train/finalize.ts';
import { buildGallery } from '../train/gallery.ts';
import { startingPoint, trainLoop } from '../train/loop.ts';
import type { ReportInput, ScoredImage } from '../train/report-input.ts';
import { balance, prepareAll } from './prepare-all.ts';
import { progressBar } from './progress.ts';

const program = new Command('train')
  .description('Train the multitask model on prepared face data')
  .option('--config <file>', 'training config', 'configs/train.json')
  .option('--service-config <file>', 'service config (sidecar, detector)')
  .option('--out <dir>', 'run folder (overrides outDir)')
  .option('--resume', 'continue the run in the run folder after a stop')
  .option('--epochs <n>', 'number of epochs (overrides the config)', Number)
  .parse();
const opts = program.opts<{
  config: string;
  serviceConfig?: string;
  out?: string;
  resume?: boolean;
  epochs?: number;
}>();

const fromRoot = (p: string): string => path.resolve(repoRoot(), p);
const train = await loadTrainConfig(fromRoot(opts.config), {
  ...(opts.out ? { outDir: opts.out } : {}),
  ...(opts.epochs ? { epochs: opts.epochs } : {}),
});
const config = loadConfig({
  file: opts.serviceConfig,
  overrides: {
    model: { checkpoint: null },
    sidecar: { callTimeoutMs: 300_000 },
  },
});
const log = createLogger({
  level: config.log.level,
  base: { component: 'train' },
});
const outDir = fromRoot(train.outDir);
await mkdir(outDir, { recursive: true });

const sidecar = await startSidecar(config, { logger: log });
const stop = async (): Promise<void> => {
  await sidecar.close();
  process.exit(130);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

try {
  const sets = await prepareAll(
    train.data.map(fromRoot),
    fromRoot(train.cacheDir),
    config,
    train,
    sidecar,
    log,
  );
  const data = new Combined(sets);
  const loaded = await sidecar.loadModel({
    arch: train.arch,
    input_size: train.inputSize,
    pretrained: config.model.pretrained,
    seed: train.seed,
  });
  log.info(
    { pretrainedLoaded: loaded.pretrained_loaded, warnings: loaded.warnings },
    'model built',
  );
  await sidecar.configureTraining({
    lr: train.lr,
    weight_decay: train.weightDecay,
    seed: train.seed,
    conflict: train.conflict,
    task_weights: train.taskWeights,
    freeze_trunk: train.freezeTrunkEpochs > 0,
  });
  const counts = Object.fromEntries(
    sets.map((s) => [s.manifest.dataset, balance(s)]),
  );
  const baseCard: Partial<ModelCard> = {
    name: 'faceattr-mnv2',
    version: new Date().toISOString().slice(0, 10),
    crop: { detector: config.detector.kind, margin: train.margin },
    data: counts,
    train_config: train as unknown as Record<string, unknown>,
  };
  const resume = await startingPoint(
    sidecar,
    outDir,
    {
      resume: opts.resume === true,
      init: train.init ? fromRoot(train.init) : null,
    },
    log,
  );
  const bar = progressBar(
    'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | ETA {eta}s',
  );
  const state = await trainLoop(
    {
      engine: sidecar,
      data,
      config: train,
      outDir,
      baseCard,
      log,
      onEpochStart: (epoch, steps) =>
        bar.start(steps, 0, { epoch: epoch + 1, loss: '-', ips: '-' }),
      onStep: (e) => {
        bar.update(e.step, {
          loss: e.loss.toFixed(4),
          ips: e.imagesPerSecond.toFixed(1),
        });
        if (e.step === e.steps) bar.stop();
      },
    },
    resume,
  );
  const final = await finalize(
    sidecar,
    data,
    outDir,
    state,
    baseCard,
    train.evalBatchSize,
    { on: train.thresholdOn, minGain: train.thresholdMinGain },
  );
  const testItems = data.items('test');
  const gallery = await buildGallery(
    sidecar,
    data,
    'test',
    testItems,
    final.logits.test,
    final.calibration,
    train.galleryPerKind,
  );
  const scored: ScoredImage[] = (['val', 'test'] as const).flatMap((split) =>
    data.items(split).map((item, i) => {
      const r = data.record(item);
      return {
        dataset: r.dataset,
        split,
        meta: r.meta,
        labels: { gender: r.male, smile: r.smiling },
        logits: {
          gender: final.logits[split].gender[i],
          smile: final.logits[split].smile[i],
        },
      };
    }),
  );
  const report: ReportInput = {
    title: `Training run ${path.basename(outDir)}`,
    created: new Date().toISOString(),
    config: train,
    history: state.history,
    best: state.best ?? { epoch: -1, metric: 0 },
    stopped: state.stopped,
    calibration: final.calibration,
    summaries: { val: final.val, test: final.test },
    scored,
    gallery,
    counts: Object.fromEntries(
      sets.map((s) => [
        s.manifest.dataset,
        Object.fromEntries(
          ['train', 'val', 'test'].map((sp) => [
            sp,
            s.records.filter((r) => r.split === sp).length,
          ]),
        ),
      ]),
    ),
  };
  await writeAtomic(
    path.join(outDir, 'report-input.json'),
    JSON.stringify(report),
  );
  const { writeReport } = await import('../train/report.ts');
  const file = await writeReport(outDir, report);
  log.info(
    { report: file, model: path.join(outDir, 'model.pt') },
    'training finished',
  );
  await writeFile(
    path.join(outDir, 'summary.json'),
    JSON.stringify(
      {
        best: state.best,
        calibration: final.calibration,
        test: final.card.metrics,
      },
      null,
      2,
    ),
  );
} finally {
  await sidecar.close();
}
