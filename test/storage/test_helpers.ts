/**
 * Assertion helpers for the storage tests (JSR's @std/assert is not reachable here).
 *
 * @module
 */

/** Awaits `action`, which must reject with an instance of `errorClass`; returns that error. */
export async function expectRejection<T extends Error>(
  action: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  errorClass: new (...args: any[]) => T,
): Promise<T> {
  try {
    await action();
  } catch (error) {
    if (error instanceof errorClass) return error;
    throw new Error(`expected ${errorClass.name}, got ${error}`);
  }
  throw new Error(`expected ${errorClass.name}, but the call succeeded`);
}

/** A fresh temporary directory, removed after `body` even when it fails. */
export async function withTempDirectory(
  prefix: string,
  body: (directory: string) => Promise<void>,
): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}
