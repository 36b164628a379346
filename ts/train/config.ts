import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const augmentSchema = z.object({
  flip: z.boolean().default(true),
  scale: z
    .tuple([z.number().positive(), z.number().positive()])
    .default([0.9, 1.1]),
  shift: z.number().min(0).max(0.5).default(0.06),
  rotate: z.number().min(0).max(45).default(10),
  brightness: z.number().min(0).max(1).default(0.25),
  contrast: z.number().min(0).max(1).default(0.25),
  saturation: z.number().min(0).max(1).default(0.3),
  grayscale: z.number().min(0).max(1).default(0.1),
});

/** Every training setting, with its default. */
export const trainConfigSchema = z.object({
  /** Data set folders (`images/`, `labels.csv`), relative to the repo. */
  data: z.array(z.string()).min(1),
  cacheDir: z.string().default('data-cache'),
  outDir: z.string().default('runs/default'),
  inputSize: z.number().int().min(32).max(512).default(96),
  /** Margin around the detected face box, as a fraction of its side. */
  margin: z.number().min(0).max(1).default(0.25),
  arch: z
    .object({
      backbone: z.literal('mobilenet_v2').default('mobilenet_v2'),
      output_stride: z.union([z.literal(16), z.literal(32)]).default(16),
      adapter_channels: z.number().int().min(8).max(1280).default(128),
      dropout: z.number().min(0).max(0.9).default(0.2),
    })
    .default({
      backbone: 'mobilenet_v2',
      output_stride: 16,
      adapter_channels: 128,
      dropout: 0.2,
    }),
  split: z
    .object({
      seed: z.number().int().default(1),
      val: z.number().min(0).max(0.5).default(0.1),
      test: z.number().min(0).max(0.5).default(0.1),
      /** meta.csv column naming the person, used when present. */
      groupColumn: z.string().default('identity'),
    })
    .default({ seed: 1, val: 0.1, test: 0.1, groupColumn: 'identity' }),
  seed: z.number().int().default(1),
  epochs: z.number().int().min(1).default(8),
  batchSize: z.number().int().min(2).default(64),
  /** Cap on images drawn per data set each epoch (a fresh draw each epoch). */
  perEpochCap: z.record(z.string(), z.number().int().positive()).default({}),
  lr: z.number().positive().default(6e-4),
  minLr: z.number().min(0).default(1e-5),
  warmupSteps: z.number().int().min(0).default(150),
  weightDecay: z.number().min(0).default(1e-4),
  /** Epochs with the trunk frozen (adapters and heads only). */
  freezeTrunkEpochs: z.number().int().min(0).default(0),
  taskWeights: z
    .object({ gender: z.number().min(0), smile: z.number().min(0) })
    .default({ gender: 1, smile: 1 }),
  /** "pcgrad" projects conflicting task gradients in the trunk. */
  conflict: z.enum(['none', 'pcgrad']).default('none'),
  /** Measure the gradient cosine every this many steps (0: never). */
  conflictEvery: z.number().int().min(0).default(25),
  /**
   * Data sets whose validation images choose the decision thresholds (null:
   * all). Temperatures are always fitted on all of them.
   */
  thresholdOn: z.array(z.string()).nullable().default(null),
  /**
   * A threshold moves away from 0.5 only when that raises the validation
   * score (mean balanced accuracy over the data sets) by at least this much.
   * On ~1,000 validation images per data set a smaller gain is a few images:
   * noise that costs accuracy on new faces.
   */
  thresholdMinGain: z.number().min(0).max(1).default(0.005),
  earlyStopPatience: z.number().int().min(1).default(3),
  evalBatchSize: z.number().int().min(1).default(128),
  augment: augmentSchema.default(augmentSchema.parse({})),
  /** Images per split/task in the report's Grad-CAM gallery. */
  galleryPerKind: z.number().int().min(0).default(6),
  /**
   * Checkpoint whose weights start the run (fine-tuning a trained model); its
   * arch and input size must match. Null: the pretrained trunk and fresh heads.
   */
  init: z.string().nullable().default(null),
  /** Stop an epoch after this many steps (tests and smoke runs). */
  maxStepsPerEpoch: z.number().int().positive().nullable().default(null),
});

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** Reads and validates a training config file, listing every problem. */
export async function loadTrainConfig(
  file: string | null,
  overrides: Partial<TrainConfig> = {},
): Promise<TrainConfig> {
  const raw: unknown = file ? JSON.parse(await readFile(file, 'utf8')) : {};
  const parsed = trainConfigSchema.safeParse({
    ...(raw as object),
    ...overrides,
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new Error(
      `Invalid training config ${file ?? ''}:\n${lines.join('\n')}`,
    );
  }
  return parsed.data;
}
