/** Exponential backoff bounds, in ms. */
export interface Backoff {
  initial: number;
  max: number;
}

/** Delay before retry number `attempt` (0-based): initial·2^attempt ≤ max. */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  return Math.min(backoff.initial * 2 ** attempt, backoff.max);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
