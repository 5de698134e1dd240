/**
 * The few assertions the harness tests need (JSR's @std/assert is not reachable here), built on
 * `node:assert/strict` so that failures print a structural diff.
 *
 * @module
 */

import * as nodeAssert from "node:assert/strict";

/** Throws when `condition` is falsy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Throws when `actual` and `expected` are not deeply (strictly) equal. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Throws when `actual` does not contain `expected`. */
export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    throw new Error(
      `expected text to include ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}` +
        (message === undefined ? "" : `: ${message}`),
    );
  }
}
