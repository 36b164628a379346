import { EventEmitter } from 'node:events';
import type {
  LoadModelOptions,
  ModelCard,
  Ops,
  Task,
} from '../protocol/index.ts';
import type { SidecarClient } from './client.ts';
import type {
  CallOptions,
  ImageBatch,
  RgbImage,
  SidecarEvents,
  SidecarOps,
} from './types.ts';

/**
 * The typed operations of a {@link Sidecar} that routes each call to its
 * current link. Subclasses say which link that is (or throw when there is
 * none) and hear about model changes.
 */
export abstract class RoutedOps
  extends EventEmitter<SidecarEvents>
  implements SidecarOps
{
  /** The link to call now. @throws AppError when there is none. */
  protected abstract link(): SidecarClient;

  /** A model was loaded: by `load_model` (with its options) or by `load`. */
  protected abstract modelChanged(
    card: ModelCard,
    loadModel: LoadModelOptions | null,
  ): void;

  async hello(options: Ops['hello']['options'] = {}, call?: CallOptions) {
    return this.link().hello(options, call);
  }

  async loadModel(options: Ops['load_model']['options'], call?: CallOptions) {
    const result = await this.link().loadModel(options, call);
    this.modelChanged(result.card, options);
    return result;
  }

  async detect(
    image: RgbImage,
    options?: Ops['detect']['options'],
    call?: CallOptions,
  ) {
    return this.link().detect(image, options, call);
  }

  async predict(images: ImageBatch, explain?: Task[], call?: CallOptions) {
    return this.link().predict(images, explain, call);
  }

  async configureTraining(
    options: Ops['configure_training']['options'],
    call?: CallOptions,
  ) {
    return this.link().configureTraining(options, call);
  }

  async trainStep(
    images: ImageBatch,
    labels: Float32Array,
    options?: Ops['train_step']['options'],
    call?: CallOptions,
  ) {
    return this.link().trainStep(images, labels, options, call);
  }

  async evalStep(images: ImageBatch, call?: CallOptions) {
    return this.link().evalStep(images, call);
  }

  async save(options: Ops['save']['options'], call?: CallOptions) {
    return this.link().save(options, call);
  }

  async load(options: Ops['load']['options'], call?: CallOptions) {
    const result = await this.link().load(options, call);
    this.modelChanged(result.card, null);
    return result;
  }

  async stats(call?: CallOptions) {
    return this.link().stats(call);
  }

  async shutdown(call?: CallOptions) {
    return this.link().shutdown(call);
  }
}
