/**
 * A command-line mistake: printed with the command's usage, exit code 2.
 *
 * @module
 */

/** Thrown for a bad flag or argument. */
export class UsageError extends Error {
  /** Creates the error with the usage text to show. */
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = "UsageError";
  }
}
