/**
 * `hactl watchdog`: a process apart from the agent's event loop (S3). The agent writes
 * one line per tick to its standard input: `arm <ms>` while it may act as primary (the
 * time left before its lease could expire, less a margin), `hold` once authority ended while
 * Postgres is not yet seen fenced (the deadline stands, the commit gate leaves), `disarm`
 * otherwise. If the
 * armed deadline passes without a renewal — the agent is frozen (SIGSTOP), its event loop
 * is stuck, or it died — the watchdog kills the local postmaster and all its processes, so
 * that the old primary acknowledges nothing after a new one may exist.
 *
 * With `--socket-dir`, `--port` and `--user` it also runs the commit gate
 * (commit_gate.ts): the local primary's synchronous standby when no remote one is required,
 * which acknowledges WAL only while armed and is not connected at all while disarmed (so it
 * never holds back the shutdown of a node without authority). A thawed host then cannot
 * complete a commit before this process has looked at its clock.
 *
 * With `--device PATH` (node.hardware_watchdog) it keeps the Linux watchdog device alive
 * while armed (hardware_watchdog.ts): if this process itself stops, the machine is reset
 * when the device's timeout runs out. It is released on disarm, and after a kill that
 * fenced Postgres; a kill that could not reach the postmaster leaves it to fire.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { killPostmaster, postmasterPidOf } from "./fence_postmaster.ts";
import { HardwareWatchdog } from "./hardware_watchdog.ts";
import { CommitGate } from "./commit_gate.ts";
import { Logger } from "../agent/logger.ts";

/**
 * How often the device is kept alive and the end of input is looked at. The deadline itself
 * has its own timer, set at every renewal (no polling: an idle watchdog stays idle).
 */
const HOUSEKEEPING_INTERVAL_MS = 250;
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
      device: { type: "string" },
      node: { type: "string" },
      "log-format": { type: "string" },
    },
  });
  // Lines go to the agent's stderr in the agent's format (log.format), under its node id.
  const format = values["log-format"] ?? "text";
  const log = new Logger(values.node ?? "-", "info", format === "json" ? "json" : "text");
  if (format !== "text" && format !== "json") {
    log.error("watchdog", `--log-format must be text or json, got "${format}"`);
    return 2;
  }
  const dataDirectory = values.pgdata;
  if (!dataDirectory) {
    log.error("watchdog", "--pgdata DIR is required (it is started by hactl run, not by hand)");
    return 2;
  }
  let deadline: number | null = null;
  let inputClosed = false;
  const gate = startGate(
    values,
    () => deadline !== null && performance.now() < deadline,
    (text) => log.warn("watchdog", text),
  );
  if (typeof gate === "string") {
    log.error("watchdog", gate);
    return 2;
  }
  let device: HardwareWatchdog | null = null;
  if (values.device !== undefined) {
    const problem = await HardwareWatchdog.check(values.device);
    if (problem !== null) {
      log.error("watchdog", problem);
      gate?.stop();
      return 2;
    }
    device = new HardwareWatchdog(
      values.device,
      (text) => log.warn("watchdog", text),
    );
  }
  let leaveDeviceToFire = false;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => finished = resolve);
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  const check = async () => {
    const now = performance.now();
    if (deadline !== null && now >= deadline) {
      deadline = null;
      gate?.disarm();
      const pid = await postmasterPidOf(dataDirectory);
      const killed = await killPostmaster(dataDirectory);
      log.error(
        "watchdog",
        `no renewal from the agent before the lease deadline; killed ${killed} Postgres processes`,
      );
      // Tells the agent, which counts firings for /metrics (its stdout pipe; see watchdog_client).
      await writeToAgent(FIRED_LINE);
      // Fenced (or nothing to fence): the machine need not be reset. Otherwise the device,
      // no longer kept alive, resets it.
      if (pid === null || killed > 0) await device?.release();
      else if (device?.active) {
        leaveDeviceToFire = true;
        log.error("watchdog", "could not kill the postmaster; leaving the device to fire");
      }
    } else if (leaveDeviceToFire) {
      // Neither kept alive nor released: the reset is the fence now.
    } else if (deadline !== null) {
      await device?.keepAlive(now);
    } else if (device?.active) {
      await device.release();
    }
    if (inputClosed && deadline === null) {
      clearInterval(housekeeping);
      clearTimeout(deadlineTimer);
      gate?.stop();
      if (!leaveDeviceToFire) await device?.release();
      finished();
    }
  };
  const housekeeping = setInterval(check, HOUSEKEEPING_INTERVAL_MS);
  // A timer may fire a moment early: then it waits out the rest.
  const atDeadline = () => {
    const left = deadline === null ? 0 : deadline - performance.now();
    if (left > 0) deadlineTimer = setTimeout(atDeadline, Math.ceil(left));
    else void check();
  };
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
        clearTimeout(deadlineTimer);
        deadlineTimer = setTimeout(atDeadline, Number(armed[1]));
        gate?.acknowledge();
        if (device !== null && !device.active) void check(); // open the device at once
      } else if (line === "hold") {
        // Authority ended but Postgres is not yet seen fenced: the commit gate leaves at
        // once, the deadline stands (a fence slower than the lease's margin ends here).
        gate?.disarm();
      } else if (line === "disarm") {
        deadline = null;
        clearTimeout(deadlineTimer);
        gate?.disarm(); // a disarmed gate is away: it must not hold a shutdown back
        void check();
      }
    }
    if (buffered.length > MAX_LINE_LENGTH) buffered = "";
  }
  // The agent is gone: an armed deadline still fires; return once it has (or if disarmed).
  inputClosed = true;
  void check();
  await done;
  return 0;
}

/** The line the watchdog writes on its standard output each time it fires. */
export const FIRED_LINE = "fired";

/** Writes one line to the agent; a closed pipe (the agent died) is not an error. */
async function writeToAgent(line: string): Promise<void> {
  try {
    await Deno.stdout.write(new TextEncoder().encode(`${line}\n`));
  } catch {
    // Nobody listens any more.
  }
}

/** The commit gate when its three options are given, null without them, or what is wrong. */
function startGate(
  values: { "socket-dir"?: string; port?: string; user?: string },
  mayCommit: () => boolean,
  report: (text: string) => void,
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
    report,
  );
  gate.start();
  return gate;
}
