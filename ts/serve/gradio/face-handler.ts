import { readFile, stat } from 'node:fs/promises';
import { AppError } from '../../errors.ts';
import type { Analyzer, FaceAnalysis, Task } from '../../pipeline/analysis.ts';
import type { FileStore } from '../files/file-store.ts';
import {
  DEFAULT_EXPLAIN,
  EXPLAIN_CHOICES,
  type ExplainChoice,
} from './app-spec.ts';
import type { CallContext, GradioHandler } from './context.ts';
import { API_PREFIX } from './documents.ts';

export interface FaceHandlerDeps {
  analyzer: Analyzer;
  files: FileStore;
  maxUploadBytes: number;
}

const DISPLAY: Record<Task, Record<string, string>> = {
  gender: { male: 'Male', female: 'Female' },
  smile: { smiling: 'Yes', not_smiling: 'No' },
};

/** The server path of the image input, refusing what cannot be one. */
function imagePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) {
    throw new AppError('MISSING_IMAGE');
  }
  const file = value as Record<string, unknown>;
  if (typeof file.path === 'string') return file.path;
  if (typeof file.url === 'string') throw new AppError('BAD_PATH');
  throw new AppError(
    'MISSING_IMAGE',
    'The image did not arrive: its upload failed or none was given',
  );
}

function explainTask(value: unknown): Task {
  const choice = value ?? DEFAULT_EXPLAIN;
  if (!EXPLAIN_CHOICES.includes(choice as ExplainChoice)) {
    throw new AppError(
      'BAD_REQUEST',
      `explain_for must be one of ${EXPLAIN_CHOICES.join(', ')}`,
    );
  }
  return (choice as string).toLowerCase() as Task;
}

async function readInput(
  files: FileStore,
  candidate: string,
  maxBytes: number,
): Promise<Buffer> {
  const real = await files.resolve(candidate);
  if ((await stat(real)).size > maxBytes)
    throw new AppError('UPLOAD_TOO_LARGE');
  return readFile(real);
}

function percent(probability: number): number {
  return Math.round(probability * 10_000) / 100;
}

function describe(faces: FaceAnalysis[]): string {
  if (faces.length === 1 && faces[0].wholeImage) {
    return 'No face was detected; the whole image was analysed as a face crop.';
  }
  const n = faces.length;
  return n === 1 ? 'Found 1 face.' : `Found ${n} faces; showing the largest.`;
}

/**
 * `/inference_with_gradcam` and `/predict`: image + "Gender"|"Smile" →
 * [gender, gender %, smile, smile %, attention map], for the largest face.
 * The face count goes to the caller as a Gradio info message.
 */
export function faceHandler(deps: FaceHandlerDeps): GradioHandler {
  async function attention(face: FaceAnalysis, task: Task, ctx: CallContext) {
    const explanation = face.explanations[task];
    if (!explanation) return null;
    const stored = await deps.files.saveOutput(explanation.png, 'attention');
    const explained = DISPLAY[task][explanation.explainedLabel];
    return {
      path: stored.path,
      url: `${ctx.root}${API_PREFIX}/file=${stored.path}`,
      size: stored.size,
      orig_name: 'attention.png',
      mime_type: 'image/png',
      is_stream: false,
      alt_text: `Grad-CAM heat map for ${task}, explaining ${explained}`,
      meta: { _type: 'gradio.FileData' },
    };
  }

  return async (_fnIndex, data, ctx) => {
    const task = explainTask(data[1]);
    const path = imagePath(data[0]);
    const image = await readInput(deps.files, path, deps.maxUploadBytes);
    const result = await deps.analyzer.analyze(image, {
      explain: [task],
      explainFaces: 'largest',
      signal: ctx.signal,
    });
    const face = result.faces[0];
    if (!face) throw new AppError('NO_FACE');
    ctx.log(describe(result.faces));
    return [
      DISPLAY.gender[face.gender.label],
      percent(face.gender.probability),
      DISPLAY.smile[face.smile.label],
      percent(face.smile.probability),
      await attention(face, task, ctx),
    ];
  };
}
