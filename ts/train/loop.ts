import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeAtomic } from '../data/cache.ts';
import { Rng, derive } from '../data/random.ts';
import { addCosine, emptyCosine } from '../metrics/index.ts';
import type { ModelCard } from '../protocol/index.ts';
import type { TrainConfig } from './config.ts';
import { batchesOf, type Combined } from './dataset.ts';
import type { TrainEngine } from './engine.ts';
import {
  UNCALIBRATED,
  logitsFor,
  scoreSplit,
  selectionMetric,
  type Task,
} from './evaluate.ts';
import { learningRate } from './schedule.ts';

/** What one epoch did, as kept in the run's history. */
export interface EpochEntry {
  epoch: number;
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  lr: number;
  loss: number;
  losses: Record<Task, number | null>;
  /** Mean cosine between the tasks' trunk gradients; null if not measured. */
  gradCosine: number | null;
  gradCosineNegative: number | null;
  val: ReturnType<typeof scoreSplit>;
  metric: number;
}

/** The loop's position, saved after every epoch so a run can resume. */
export interface LoopState {
  epochsDone: number;
  step: number;
  best: { epoch: number; metric: number } | null;
  sinceBest: number;
  history: EpochEntry[];
  stopped: 'early' | 'done' | null;
}

export interface StepEvent {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond: number;
}

export interface LoopDeps {
  engine: TrainEngine;
  data: Combined;
  config: TrainConfig;
  outDir: string;
  /** Card fields that do not change while training. */
  baseCard: Partial<ModelCard>;
  log: Logger;
  onStep?: (e: StepEvent) => void;
  onEpochStart?: (epoch: number, steps: number) => void;
  onEpochEnd?: (entry: EpochEntry) => void;
  /**
   * Checked between epochs: once aborted, the loop returns after saving the
   * finished epoch, leaving a state that `--resume` continues.
   */
  signal?: AbortSignal;
}

export const FILES = {
  best: 'best.pt',
  last: 'last.pt',
  state: 'state.json',
};

/** Reads a saved loop state, or null when the run has none. */
export async function readState(outDir: string): Promise<LoopState | null> {
  const file = path.join(outDir, FILES.state);
  if (!existsSync(file)) return null;
  return JSON.parse(await readFile(file, 'utf8')) as LoopState;
}

/**
 * Puts the loaded model at the start of a run. Resuming (when `outDir` holds
 * a saved state): weights and optimizer state of the last finished epoch,
 * and that state is returned. Otherwise, with `init`: that checkpoint's
 * weights only (fine-tuning; optimizer and schedule start afresh). Otherwise
 * the model stays as loaded. Returns the state to resume, or null.
 */
export async function startingPoint(
  engine: TrainEngine,
  outDir: string,
  opts: { resume: boolean; init: string | null },
  log: Logger,
): Promise<LoopState | null> {
  const state = opts.resume ? await readState(outDir) : null;
  if (state) {
    await engine.load({
      path: path.join(outDir, FILES.last),
      include_optimizer: true,
    });
    log.info({ epochsDone: state.epochsDone }, 'resuming');
  } else if (opts.init) {
    await engine.load({ path: opts.init, include_optimizer: false });
    log.info({ init: opts.init }, 'weights initialised from checkpoint');
  }
  return state;
}

/**
 * Trains for the configured epochs, evaluating on the validation split after
 * each, keeping the best checkpoint by mean balanced accuracy and the last
 * one with its optimizer state. With `resume`, continues from the last
 * completed epoch; the same seed then gives the same result as a run that
 * was never interrupted.
 */
export async function trainLoop(
  deps: LoopDeps,
  resume: LoopState | null,
): Promise<LoopState> {
  const { config, data, engine, log } = deps;
  const state: LoopState = resume ?? {
    epochsDone: 0,
    step: 0,
    best: null,
    sinceBest: 0,
    history: [],
    stopped: null,
  };
  const valItems = data.items('val');
  const stepsPerEpoch = countSteps(deps);
  const totalSteps = stepsPerEpoch * config.epochs;
  for (let epoch = state.epochsDone; epoch < config.epochs; epoch++) {
    if (state.stopped || deps.signal?.aborted) break;
    await engine.configureTraining({
      freeze_trunk: epoch < config.freezeTrunkEpochs,
    });
    const entry = await runEpoch(deps, state, epoch, totalSteps);
    const logits = await logitsFor(
      engine,
      data,
      valItems,
      config.evalBatchSize,
    );
    entry.val = scoreSplit(data, valItems, logits, UNCALIBRATED);
    entry.metric = selectionMetric(entry.val);
    state.history.push(entry);
    state.epochsDone = epoch + 1;
    await keepCheckpoints(deps, state, entry);
    log.info(
      {
        epoch: entry.epoch,
        loss: entry.loss,
        metric: entry.metric,
        gradCosine: entry.gradCosine,
        imagesPerSecond: entry.imagesPerSecond,
      },
      'epoch finished',
    );
    deps.onEpochEnd?.(entry);
  }
  if (deps.signal?.aborted) return state;
  state.stopped ??= 'done';
  await writeAtomic(path.join(deps.outDir, FILES.state), JSON.stringify(state));
  return state;
}

function countSteps({ data, config }: LoopDeps): number {
  const order = data.epochOrder(config.seed, 0, config.perEpochCap);
  const steps = Math.floor(order.length / config.batchSize);
  return config.maxStepsPerEpoch
    ? Math.min(steps, config.maxStepsPerEpoch)
    : steps;
}

async function runEpoch(
  deps: LoopDeps,
  state: LoopState,
  epoch: number,
  totalSteps: number,
): Promise<EpochEntry> {
  const { config, data, engine } = deps;
  const order = data.epochOrder(config.seed, epoch, config.perEpochCap);
  let batches = batchesOf(order, config.batchSize);
  if (config.maxStepsPerEpoch) {
    batches = batches.slice(0, config.maxStepsPerEpoch);
  }
  deps.onEpochStart?.(epoch, batches.length);
  const rng = new Rng(derive(config.seed, epoch, 2));
  const augment = { rng, opts: config.augment };
  const sums = { loss: 0, gender: 0, smile: 0, ng: 0, ns: 0 };
  let cosine = emptyCosine();
  const started = Date.now();
  let lr = 0;
  let next = data.batch(batches[0], augment);
  for (let b = 0; b < batches.length; b++) {
    const batch = next;
    lr = learningRate(
      state.step,
      totalSteps,
      config.lr,
      config.minLr,
      config.warmupSteps,
    );
    const measure =
      config.conflictEvery > 0 && state.step % config.conflictEvery === 0;
    const pending = engine.trainStep(batch.images, batch.labels, {
      lr,
      measure_conflict: measure,
      seed: derive(config.seed, state.step, 3),
    });
    // Build the next batch while the sidecar works on this one.
    if (b + 1 < batches.length) next = data.batch(batches[b + 1], augment);
    const result = await pending;
    state.step++;
    sums.loss += result.loss;
    if (result.losses.gender !== null) {
      sums.gender += result.losses.gender;
      sums.ng++;
    }
    if (result.losses.smile !== null) {
      sums.smile += result.losses.smile;
      sums.ns++;
    }
    cosine = addCosine(cosine, result.grad_cosine);
    const seconds = (Date.now() - started) / 1000;
    deps.onStep?.({
      epoch,
      step: b + 1,
      steps: batches.length,
      loss: sums.loss / (b + 1),
      imagesPerSecond: ((b + 1) * config.batchSize) / Math.max(seconds, 1e-3),
    });
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    epoch,
    steps: batches.length,
    seconds,
    imagesPerSecond: (batches.length * config.batchSize) / seconds,
    lr,
    loss: sums.loss / batches.length,
    losses: {
      gender: sums.ng ? sums.gender / sums.ng : null,
      smile: sums.ns ? sums.smile / sums.ns : null,
    },
    gradCosine: cosine.count ? cosine.mean : null,
    gradCosineNegative: cosine.count ? cosine.conflicting / cosine.count : null,
    val: {},
    metric: 0,
  };
}

async function keepCheckpoints(
  deps: LoopDeps,
  state: LoopState,
  entry: EpochEntry,
): Promise<void> {
  const { engine, outDir, config } = deps;
  const metric = { name: 'mean_balanced_accuracy', value: entry.metric };
  const card = { ...deps.baseCard, epoch: entry.epoch, metric };
  if (!state.best || entry.metric > state.best.metric) {
    state.best = { epoch: entry.epoch, metric: entry.metric };
    state.sinceBest = 0;
    await engine.save({
      path: path.join(outDir, FILES.best),
      card,
      include_optimizer: false,
    });
  } else {
    state.sinceBest++;
    if (state.sinceBest >= config.earlyStopPatience) state.stopped = 'early';
  }
  await engine.save({
    path: path.join(outDir, FILES.last),
    card,
    include_optimizer: true,
  });
  await writeAtomic(path.join(outDir, FILES.state), JSON.stringify(state));
}
