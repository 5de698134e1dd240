/**
 * One row of `hactl doctor`: which check, how it went (ok, warn, FAIL) and what is wrong and
 * how to fix it.
 *
 * @module
 */

/** ok: nothing to do; warn: works, but look at it; FAIL: `hactl run` will not work (exit 1). */
export type CheckStatus = "ok" | "warn" | "FAIL";

/** The outcome of one check. */
export interface CheckResult {
  /** Short name of what was checked, e.g. "port raft.listen". */
  readonly check: string;
  readonly status: CheckStatus;
  /** What was found; for warn and FAIL, what is wrong and how to fix it. */
  readonly detail: string;
}

/** A check that passed. */
export function passed(check: string, detail: string): CheckResult {
  return { check, status: "ok", detail };
}

/** A check that found something to look at. */
export function warned(check: string, detail: string): CheckResult {
  return { check, status: "warn", detail };
}

/** A check that found something `hactl run` cannot work with. */
export function failed(check: string, detail: string): CheckResult {
  return { check, status: "FAIL", detail };
}

/** The message of a thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
