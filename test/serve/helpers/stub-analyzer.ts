import sharp from 'sharp';
import { AppError } from '../../../ts/errors.ts';
import type {
  AnalyzeOptions,
  Analyzer,
  AnalyzerStatus,
  FaceAnalysis,
  ImageAnalysis,
} from '../../../ts/pipeline/analysis.ts';

export interface StubOptions {
  /** Faces reported per image; default 1. */
  faces?: number;
  ready?: boolean;
  delayMs?: number;
}

/**
 * A stand-in for the face pipeline in protocol tests: decodes with sharp,
 * reports `faces` boxes, and derives labels from the mean colour (red →
 * smiling, bright → male), so different images give different answers.
 */
export class StubAnalyzer implements Analyzer {
  readonly calls: AnalyzeOptions[] = [];
  constructor(public options: StubOptions = {}) {}

  status(): AnalyzerStatus {
    return this.options.ready === false
      ? { ready: false, model: null, reason: 'stub not ready' }
      : { ready: true, model: { name: 'stub', version: '1' } };
  }

  async analyze(
    image: Buffer,
    options: AnalyzeOptions,
  ): Promise<ImageAnalysis> {
    this.calls.push(options);
    if (this.options.ready === false) throw new AppError('MODEL_UNAVAILABLE');
    if (image.length === 0) throw new AppError('EMPTY_UPLOAD');
    let stats: sharp.Stats;
    let meta: sharp.Metadata;
    try {
      meta = await sharp(image).metadata();
      stats = await sharp(image).stats();
    } catch (err: unknown) {
      throw new AppError('NOT_AN_IMAGE', undefined, { cause: err });
    }
    if (this.options.delayMs) {
      await new Promise((r) => setTimeout(r, this.options.delayMs));
    }
    const [r, g, b] = stats.channels.map((c) => c.mean / 255);
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    const n = this.options.faces ?? 1;
    const faces: FaceAnalysis[] = [];
    for (let i = 0; i < n; i++) {
      const explanations: FaceAnalysis['explanations'] = {};
      const explain =
        options.explainFaces === 'all' || i === 0 ? options.explain : [];
      const png = await sharp({
        create: { width: 8, height: 8, channels: 3, background: '#f00' },
      })
        .png()
        .toBuffer();
      const pMale = (r + g + b) / 3;
      const pSmile = r > b ? 0.8 : 0.3;
      const gender =
        pMale >= 0.5
          ? { label: 'male', probability: pMale }
          : { label: 'female', probability: 1 - pMale };
      const smile =
        pSmile >= 0.5
          ? { label: 'smiling', probability: pSmile }
          : { label: 'not_smiling', probability: 1 - pSmile };
      for (const task of explain) {
        const shown = task === 'gender' ? gender.label : smile.label;
        explanations[task] = { explainedLabel: shown, png, flat: false };
      }
      faces.push({
        box: { x: i * 10, y: 0, w: 40 - i, h: 40 - i },
        score: 0.9,
        wholeImage: false,
        gender,
        smile,
        explanations,
      });
    }
    return {
      faces,
      image: {
        width,
        height,
        orientationApplied: false,
        frames: meta.pages ?? 1,
        format: meta.format ?? 'unknown',
      },
      model: { name: 'stub', version: '1' },
    };
  }
}
