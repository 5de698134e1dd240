/**
 * Small async helpers for the transport's loops: a wake-up signal, an interruptible sleep and a
 * promise deadline. Every timer they start is cleared when the wait ends, so a closed transport
 * leaves no pending timer behind.
 *
 * @module
 */

/**
 * A level-triggered signal for one waiting loop: `wait()` resolves at once when `notify()` was
 * called since the last wait, else at the next `notify()`. A waiter that lost a race (its wait was
 * abandoned after a timeout) is simply replaced by the next `wait()`, so nothing accumulates; the
 * price is an occasional spurious wake-up, which loops handle by re-checking their condition.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | null = null;

  /** Wakes the current or next waiter. */
  notify(): void {
    this.#pending = true;
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }

  /** Resolves at the next `notify()` (at once if one came since the last wait). */
  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
}

/** Resolves after `delayMs`, or as soon as `wakeup` is notified, whichever is first. */
export async function sleepUnlessWoken(delayMs: number, wakeup: Wakeup): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, delayMs);
  });
  try {
    await Promise.race([elapsed, wakeup.wait()]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with the promise's value, or, when `timeoutMs` passes first, calls `onTimeout` (which
 * should make the promise settle, e.g. by closing its connection) and rejects with a message
 * naming `action`.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  action: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${action} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
