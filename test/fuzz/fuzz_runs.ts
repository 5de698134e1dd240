/**
 * How many inputs each fuzz target tries: 10,000 in the suite, more for a nightly run with
 * `HACTL_FUZZ_RUNS=1000000 deno test --allow-all test/fuzz/`. A fixed seed can be given with
 * `HACTL_FUZZ_SEED` to replay a failure fast-check reported.
 *
 * @module
 */

/** Inputs per target in the ordinary test suite. */
export const SUITE_FUZZ_RUNS = 10_000;

/** The fast-check parameters every fuzz target uses. */
export function fuzzParameters(): { numRuns: number; seed?: number } {
  const runs = readPositiveInteger("HACTL_FUZZ_RUNS") ?? SUITE_FUZZ_RUNS;
  const seed = readPositiveInteger("HACTL_FUZZ_SEED");
  return seed === null ? { numRuns: runs } : { numRuns: runs, seed };
}

function readPositiveInteger(name: string): number | null {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return null;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name}=${text}: expected a non-negative integer`);
  }
  return value;
}
