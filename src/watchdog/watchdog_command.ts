/**
 * `hactl watchdog`: a process apart from the agent's event loop (S3). The agent writes
 * one line per tick to its standard input: `arm <ms>` while it may act as primary (the
 * time left before its lease could expire, less a margin), `disarm` otherwise. If the
 * armed deadline passes without a renewal — the agent is frozen (SIGSTOP), its event loop
 * is stuck, or it died — the watchdog kills the local postmaster and all its processes, so
 * that the old primary acknowledges nothing after a new one may exist.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { killPostmaster } from "./fence_postmaster.ts";

/** How often the deadline is checked. */
const CHECK_INTERVAL_MS = 10;
/** Longest command line accepted from the agent. */
const MAX_LINE_LENGTH = 64;

/** Runs the watchdog until its input closes and it is disarmed (or it has fenced). */
export async function watchdogCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { pgdata: { type: "string" } } });
  const dataDirectory = values.pgdata;
  if (!dataDirectory) {
    console.error(
      "hactl watchdog: --pgdata DIR is required (it is started by hactl run, not by hand)",
    );
    return 2;
  }
  let deadline: number | null = null;
  let inputClosed = false;
  const check = setInterval(async () => {
    if (deadline !== null && performance.now() >= deadline) {
      deadline = null;
      const killed = await killPostmaster(dataDirectory);
      console.error(
        `hactl watchdog: no renewal from the agent before the lease deadline; killed ${killed} Postgres processes`,
      );
    }
    if (inputClosed && deadline === null) {
      clearInterval(check);
    }
  }, CHECK_INTERVAL_MS);
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line.length > MAX_LINE_LENGTH) continue;
      const armed = /^arm (\d{1,7})$/.exec(line);
      if (armed) deadline = performance.now() + Number(armed[1]);
      else if (line === "disarm") deadline = null;
    }
    if (buffered.length > MAX_LINE_LENGTH) buffered = "";
  }
  // The agent is gone: an armed deadline still fires (the check loop keeps running).
  inputClosed = true;
  return 0;
}
