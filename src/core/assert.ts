/**
 * Assertions for the pure core. A failed assertion is a broken invariant, not an
 * operating error: the process must stop rather than continue with a corrupt state.
 *
 * @module
 */

/** Thrown when an invariant of the core does not hold. */
export class AssertionError extends Error {
  /** Creates an assertion error with the invariant that failed. */
  constructor(message: string) {
    super(`hactl core invariant violated: ${message}`);
    this.name = "AssertionError";
  }
}

/** Throws {@link AssertionError} with `message` unless `condition` holds. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
