/**
 * Minimal assertions (JSR's @std/assert is not reachable from this machine).
 *
 * @module
 */

/** Throws when `condition` is false. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Throws when `actual` and `expected` differ (compared as JSON). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message ?? "values differ"}: actual ${a}, expected ${e}`);
}

/** Throws when `actual` is not greater than `than`. */
export function assertGreater(actual: number, than: number, message?: string): void {
  if (!(actual > than)) throw new Error(`${message ?? "not greater"}: ${actual} <= ${than}`);
}

/** Resolves with the error `promise` rejects with; throws when it resolves. */
export async function assertRejects(promise: Promise<unknown>, message?: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  throw new Error(message ?? "expected a rejection, but the promise resolved");
}
