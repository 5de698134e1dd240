/**
 * Test helpers for real processes that a test freezes, thaws or waits to see killed.
 *
 * @module
 */

/** Whether a process exists (a zombie, e.g. a killed postmaster not yet reaped, counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Sends `name` to `pid` when there is one; a process already gone is not an error. */
export function signalIfAlive(pid: number | null | undefined, name: Deno.Signal): void {
  if (pid === null || pid === undefined) return;
  try {
    Deno.kill(pid, name);
  } catch { /* gone */ }
}
