/**
 * The command line that runs this same hactl entry module again (for the watchdog process,
 * the local cluster's agents and tests), with the same Deno binary and config.
 *
 * @module
 */

/** argv of `hactl ARGS` run from source with the current Deno. */
export function hactlCommand(args: readonly string[]): string[] {
  const entry = new URL("./main.ts", import.meta.url).pathname;
  const config = new URL("../deno.json", import.meta.url).pathname;
  return [Deno.execPath(), "run", "--allow-all", "--quiet", "--config", config, entry, ...args];
}
