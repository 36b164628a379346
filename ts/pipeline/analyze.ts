import { AppError, isAppError } from '../errors.ts';
import {
  decodeImage,
  type DecodedImage,
  type ImageLimits,
} from '../images/decode.ts';
import { renderOverlay } from '../images/overlay.ts';
import type { ModelCard, Task } from '../protocol/index.ts';
import type { PredictResult, Sidecar } from '../sidecar/index.ts';
import type {
  AnalyzeOptions,
  Analyzer,
  AnalyzerStatus,
  FaceAnalysis,
  ImageAnalysis,
  PixelBox,
} from './analysis.ts';
import { calibrate } from './calibrate.ts';
import { cropFaces, findFaces, type FoundFace } from './faces.ts';
import type { PredictFn } from './predict-batcher.ts';

export interface PipelineSettings {
  limits: ImageLimits;
  detector: {
    maxSide: number;
    minFaceFraction: number;
    minScore: number;
    /** Largest image taken whole as a face crop when none is detected (0: never). */
    wholeImageMaxSide: number;
  };
  overlay: { alpha: number; maxSide: number };
}

/** The steps of one analysis, timed separately (`onStage`). */
export type Stage = 'decode' | 'detect' | 'crop' | 'predict' | 'render';

/** Receives the wall time of each step of each analysis. */
export type StageObserver = (stage: Stage, seconds: number) => void;

/** What the pipeline needs from the sidecar besides predict. */
export type PipelineSidecar = Pick<Sidecar, 'ready' | 'card' | 'detect'>;

/** Longest side of a returned heat-map PNG; keeps responses small. */
export const OVERLAY_MAX_SIDE = 768;

/** The wire protocol's documented margin, for cards written without `crop`. */
export const DEFAULT_CROP_MARGIN = 0.25;

/** The pipeline's settings from the app config. */
export function pipelineSettings(config: {
  server: { maxUploadBytes: number; maxPixels: number; minSide: number };
  detector: {
    maxSide: number;
    minFaceFraction: number;
    minScore: number;
    /** Largest image taken whole as a face crop when none is detected (0: never). */
    wholeImageMaxSide: number;
  };
  explain: { overlayAlpha: number };
}): PipelineSettings {
  return {
    limits: {
      maxBytes: config.server.maxUploadBytes,
      maxPixels: config.server.maxPixels,
      minSide: config.server.minSide,
    },
    detector: { ...config.detector },
    overlay: { alpha: config.explain.overlayAlpha, maxSide: OVERLAY_MAX_SIDE },
  };
}

/** ISO-BMFF brands of HEIF/HEIC files (iPhone photos), read from `ftyp`. */
const HEIF_BRANDS = /^(heic|heix|heim|heis|hevc|hevx|hevm|hevs|mif1|msf1)$/;

function isHeif(buf: Buffer): boolean {
  return (
    buf.length >= 12 &&
    buf.toString('latin1', 4, 8) === 'ftyp' &&
    HEIF_BRANDS.test(buf.toString('latin1', 8, 12))
  );
}

/** Windows bitmaps: "BM", then a DIB header of one of the known sizes. */
function isBmp(buf: Buffer): boolean {
  return (
    buf.length >= 18 &&
    buf.toString('latin1', 0, 2) === 'BM' &&
    [12, 40, 52, 56, 64, 108, 124].includes(buf.readUInt32LE(14))
  );
}

/**
 * Decodes, turning "not an image" for an HEIC or BMP this build cannot
 * parse into UNSUPPORTED_FORMAT: it is an image, just not one we can read.
 */
async function decode(buf: Buffer, limits: ImageLimits): Promise<DecodedImage> {
  try {
    return await decodeImage(buf, limits);
  } catch (err: unknown) {
    if (isAppError(err) && err.code === 'NOT_AN_IMAGE' && isHeif(buf)) {
      throw new AppError(
        'UNSUPPORTED_FORMAT',
        'HEIC images are not supported',
        {
          cause: err,
        },
      );
    }
    if (isAppError(err) && err.code === 'NOT_AN_IMAGE' && isBmp(buf)) {
      throw new AppError(
        'UNSUPPORTED_FORMAT',
        'BMP images are not supported; send JPEG, PNG, WebP, GIF, AVIF or TIFF',
        { cause: err },
      );
    }
    throw err;
  }
}

/** A box in decoded pixels → pixels of the oriented image as uploaded. */
function toUploadPixels(box: PixelBox, img: DecodedImage): PixelBox {
  const k = 1 / img.scale;
  return { x: box.x * k, y: box.y * k, w: box.w * k, h: box.h * k };
}

/**
 * Decode and check once, detect faces on a downscaled copy, crop each with
 * the model card's margin, predict (and explain) through the batcher,
 * calibrate with the card, and render each heat map back onto the image
 * through the exact inverse of its crop.
 */
export class FacePipeline implements Analyzer {
  constructor(
    private readonly sidecar: PipelineSidecar,
    private readonly predict: PredictFn,
    private readonly settings: PipelineSettings,
    private readonly onStage: StageObserver = () => {},
  ) {}

  /** Runs `step`, reporting its wall time under `stage` when it succeeds. */
  private async timed<T>(stage: Stage, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const value = await step();
    this.onStage(stage, (performance.now() - started) / 1000);
    return value;
  }

  status(): AnalyzerStatus {
    const card = this.sidecar.card;
    const model = card ? { name: card.name, version: card.version } : null;
    if (!this.sidecar.ready) {
      return { ready: false, model, reason: 'the model process is not ready' };
    }
    if (!card) return { ready: false, model, reason: 'no model is loaded' };
    return { ready: true, model };
  }

  async analyze(
    image: Buffer,
    options: AnalyzeOptions,
  ): Promise<ImageAnalysis> {
    const card = this.card();
    const img = await this.timed('decode', () =>
      decode(image, this.settings.limits),
    );
    this.checkAborted(options.signal);
    const faces = await this.timed('detect', () =>
      findFaces(
        img,
        this.sidecar,
        {
          ...this.settings.detector,
          margin: card.crop?.margin ?? DEFAULT_CROP_MARGIN,
        },
        this.settings.detector.wholeImageMaxSide,
      ),
    );
    this.checkAborted(options.signal);
    const results =
      faces.length === 0 ? [] : await this.classify(img, faces, card, options);
    return {
      faces: results,
      image: {
        width: img.originalWidth,
        height: img.originalHeight,
        orientationApplied: img.orientationApplied,
        frames: img.frames,
        format: img.format,
      },
      model: { name: card.name, version: card.version },
    };
  }

  private card(): ModelCard {
    const card = this.sidecar.card;
    if (!this.sidecar.ready || !card) throw new AppError('MODEL_UNAVAILABLE');
    return card;
  }

  private checkAborted(signal?: AbortSignal): void {
    if (signal?.aborted) {
      throw new AppError('BAD_REQUEST', 'The request was abandoned');
    }
  }

  private async classify(
    img: DecodedImage,
    faces: FoundFace[],
    card: ModelCard,
    options: AnalyzeOptions,
  ): Promise<FaceAnalysis[]> {
    const size = card.input_size;
    const crops = await this.timed('crop', () => cropFaces(img, faces, size));
    const explain = [...options.explain];
    // The Gradio endpoint explains only the largest face: the others go in a
    // batch without the (costlier) explanation.
    const explainAll = options.explainFaces === 'all' || faces.length === 1;
    const perFace = size * size * 3;
    const parts: Array<Promise<PredictResult>> = explainAll
      ? [this.predict({ data: crops, n: faces.length, size }, explain)]
      : [
          this.predict(
            { data: crops.subarray(0, perFace), n: 1, size },
            explain,
          ),
          this.predict(
            { data: crops.subarray(perFace), n: faces.length - 1, size },
            [],
          ),
        ];
    const [first, rest] = await this.timed('predict', () => Promise.all(parts));
    return this.timed('render', () =>
      Promise.all(
        faces.map((face, i) => {
          const [result, j] =
            explainAll || i === 0 ? [first, i] : [rest, i - 1];
          return this.faceResult(img, face, result, j, card, size);
        }),
      ),
    );
  }

  private async faceResult(
    img: DecodedImage,
    face: FoundFace,
    result: PredictResult,
    j: number,
    card: ModelCard,
    size: number,
  ): Promise<FaceAnalysis> {
    const tasks = Object.entries(result.explained) as [
      Task,
      NonNullable<PredictResult['explained'][Task]>,
    ][];
    // Each task's overlay is encoded on its own libuv thread; the entries
    // keep the tasks' order whichever finishes first.
    const rendered = await Promise.all(
      tasks.map(async ([task, explained]) => {
        const cams = result.cams[task];
        if (!cams) return null;
        const cam = cams.subarray(j * size * size, (j + 1) * size * size);
        const png = await renderOverlay(
          img,
          face.square,
          cam,
          size,
          this.settings.overlay,
        );
        const [negative, positive] = card.labels[task];
        const explanation = {
          explainedLabel: explained.positive[j] ? positive : negative,
          png,
          flat: explained.flat[j],
        };
        return [task, explanation] as const;
      }),
    );
    const explanations: FaceAnalysis['explanations'] = Object.fromEntries(
      rendered.filter((entry) => entry !== null),
    );
    return {
      box: toUploadPixels(face.box, img),
      score: face.score,
      wholeImage: face.wholeImage === true,
      gender: calibrate(result.logits.gender[j], 'gender', card),
      smile: calibrate(result.logits.smile[j], 'smile', card),
      explanations,
    };
  }
}
