/**
 * `hactl watchdog`: a process apart from the agent's event loop (S3). The agent writes
 * one line per tick to its standard input: `arm <ms>` while it may act as primary (the
 * time left before its lease could expire, less a margin), `disarm` otherwise. If the
 * armed deadline passes without a renewal — the agent is frozen (SIGSTOP), its event loop
 * is stuck, or it died — the watchdog kills the local postmaster and all its processes, so
 * that the old primary acknowledges nothing after a new one may exist.
 *
 * With `--socket-dir`, `--port` and `--user` it also runs the commit gate
 * (commit_gate.ts): the local primary's synchronous standby when no remote one is required,
 * which acknowledges WAL only while armed. A thawed host then cannot complete a commit
 * before this process has looked at its clock.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { killPostmaster } from "./fence_postmaster.ts";
import { CommitGate } from "./commit_gate.ts";

/** How often the deadline is checked. */
const CHECK_INTERVAL_MS = 10;
/** Longest command line accepted from the agent. */
const MAX_LINE_LENGTH = 64;

/** Runs the watchdog until its input closes and it is disarmed (or it has fenced). */
export async function watchdogCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      pgdata: { type: "string" },
      "socket-dir": { type: "string" },
      port: { type: "string" },
      user: { type: "string" },
    },
  });
  const dataDirectory = values.pgdata;
  if (!dataDirectory) {
    console.error(
      "hactl watchdog: --pgdata DIR is required (it is started by hactl run, not by hand)",
    );
    return 2;
  }
  let deadline: number | null = null;
  let inputClosed = false;
  const gate = startGate(values, () => deadline !== null && performance.now() < deadline);
  if (typeof gate === "string") {
    console.error(`hactl watchdog: ${gate}`);
    return 2;
  }
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => finished = resolve);
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
      gate?.stop();
      finished();
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
      if (armed) {
        deadline = performance.now() + Number(armed[1]);
        gate?.acknowledge();
      } else if (line === "disarm") deadline = null;
    }
    if (buffered.length > MAX_LINE_LENGTH) buffered = "";
  }
  // The agent is gone: an armed deadline still fires; return once it has (or if disarmed).
  inputClosed = true;
  await done;
  return 0;
}

/** The commit gate when its three options are given, null without them, or what is wrong. */
function startGate(
  values: { "socket-dir"?: string; port?: string; user?: string },
  mayCommit: () => boolean,
): CommitGate | null | string {
  const { "socket-dir": socketDirectory, port, user } = values;
  if (socketDirectory === undefined && port === undefined && user === undefined) return null;
  if (!socketDirectory || !port || !user) {
    return "the commit gate needs --socket-dir, --port and --user together";
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return `--port must be a TCP port number (1-65535), got "${port}"`;
  }
  const gate = new CommitGate(
    { socketDirectory, port: Number(port), user },
    mayCommit,
    (text) => console.error(`hactl watchdog: ${text}`),
  );
  gate.start();
  return gate;
}
