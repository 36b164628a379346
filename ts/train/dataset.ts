import type { CachedRecord, PreparedSet } from '../data/cache.ts';
import { Rng, derive } from '../data/random.ts';
import type { Split } from '../data/split.ts';
import { augmentInto, type AugmentOptions } from './augment.ts';

/** One image of the combined data: which set, which row. */
export interface Item {
  set: number;
  row: number;
}

/** A batch as the sidecar takes it. */
export interface Batch {
  images: { data: Uint8Array; n: number; size: number };
  /** `n * 2` values (gender, smile): 1, 0 or NaN for unknown. */
  labels: Float32Array;
  items: Item[];
}

/** Several prepared data sets seen as one, with their splits. */
export class Combined {
  readonly size: number;

  constructor(readonly sets: PreparedSet[]) {
    if (sets.length === 0) throw new Error('No prepared data sets');
    this.size = sets[0].manifest.size;
    for (const s of sets) {
      if (s.manifest.size !== this.size) {
        throw new Error(
          `${s.manifest.dataset} was prepared at ${s.manifest.size} px; ` +
            `expected ${this.size}`,
        );
      }
    }
  }

  record(item: Item): CachedRecord {
    return this.sets[item.set].records[item.row];
  }

  /** Every item of a split, in a fixed order. */
  items(split: Split): Item[] {
    const out: Item[] = [];
    this.sets.forEach((s, set) =>
      s.records.forEach((r, row) => {
        if (r.split === split) out.push({ set, row });
      }),
    );
    return out;
  }

  /**
   * The training order of one epoch: shuffled with a seed derived from
   * (seed, epoch), each data set capped at `caps[dataset]` images drawn
   * afresh per epoch.
   */
  epochOrder(
    seed: number,
    epoch: number,
    caps: Record<string, number>,
  ): Item[] {
    const rng = new Rng(derive(seed, epoch, 1));
    const chosen: Item[] = [];
    this.sets.forEach((s, set) => {
      const mine = this.items('train').filter((i) => i.set === set);
      const cap = caps[s.manifest.dataset] ?? mine.length;
      chosen.push(...rng.shuffle(mine).slice(0, cap));
    });
    return rng.shuffle(chosen);
  }

  /** Labels as the sidecar takes them: NaN where unknown. */
  labels(items: Item[]): Float32Array {
    const out = new Float32Array(items.length * 2);
    items.forEach((item, i) => {
      const r = this.record(item);
      out[i * 2] = r.male ?? NaN;
      out[i * 2 + 1] = r.smiling ?? NaN;
    });
    return out;
  }

  /** Pixels of `items`, optionally augmented with a seeded generator. */
  batch(items: Item[], augment?: { rng: Rng; opts: AugmentOptions }): Batch {
    const stride = this.size * this.size * 3;
    const data = new Uint8Array(items.length * stride);
    items.forEach((item, i) => {
      const pixels = this.sets[item.set].pixels;
      if (augment) {
        augmentInto(
          pixels,
          item.row * stride,
          data,
          i * stride,
          this.size,
          augment.rng,
          augment.opts,
        );
      } else {
        data.set(
          pixels.subarray(item.row * stride, (item.row + 1) * stride),
          i * stride,
        );
      }
    });
    return {
      images: { data, n: items.length, size: this.size },
      labels: this.labels(items),
      items,
    };
  }
}

/**
 * Splits an order into full batches. A short last batch is dropped: a batch
 * of one breaks BatchNorm in train mode, and the next epoch's shuffle sees
 * those images anyway.
 */
export function batchesOf(order: Item[], batchSize: number): Item[][] {
  const out: Item[][] = [];
  for (let i = 0; i + batchSize <= order.length; i += batchSize) {
    out.push(order.slice(i, i + batchSize));
  }
  return out;
}
