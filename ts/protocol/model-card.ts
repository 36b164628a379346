import type { Task } from './version.ts';

/** Backbone layout; enough for the sidecar to rebuild the network. */
export interface ModelArch {
  backbone: string;
  output_stride: number;
  adapter_channels: number;
  /** Dropout before the heads during training. */
  dropout?: number;
}

/**
 * The model card, stored as `model.json` beside `model.pt` and returned by
 * `hello`, `load_model` and `load`. Field names are the wire's snake_case.
 * A freshly built model's card lacks the optional fields; training fills
 * them in when it saves.
 */
export interface ModelCard {
  name: string;
  version: string;
  /** Wire protocol version the checkpoint was written under. */
  protocol: number;
  tasks: Task[];
  /** Per task: [negative class, positive class]. */
  labels: Record<Task, [string, string]>;
  /** Side S of the square `uint8 [N, S, S, 3]` input, in pixels. */
  input_size: number;
  /** Per-channel RGB mean and std on the 0..1 scale. */
  mean: [number, number, number];
  std: [number, number, number];
  arch: ModelArch;
  /** How training crops were cut; serving must cut the same way. */
  crop?: { detector: string; margin: number };
  /** Probability at or above which the positive class is shown. */
  thresholds: Record<Task, number>;
  /** Logits are divided by this before the sigmoid. */
  temperature: Record<Task, number>;
  /** Epoch the weights come from; null for a model never trained. */
  epoch?: number | null;
  /** The selection metric at that epoch; null when never evaluated. */
  metric?: { name: string; value: number } | null;
  metrics?: Record<string, unknown>;
  data?: Record<string, unknown>;
  train_config?: Record<string, unknown>;
  torch_version: string;
  /** sha256 of `model.pt`, hex; null before the first save. */
  sha256?: string | null;
  /** ISO 8601 time the card was written. */
  created: string;
}
