/**
 * Interaction scripts for the core, in the style of etcd raft's data-driven tests: a file of
 * blocks, each a command line, a `----` line, then the expected output up to a blank line.
 * The runner executes every command against an {@link InteractionWorld} through the real
 * `step` and returns the file with the actual output in place, so a test compares the two and
 * `HACTL_REWRITE=1` writes the actual output back.
 *
 * Commands (arguments `key=value` or bare words):
 * - `cluster n1 n2 n3 [election=E] [jitter=J] [heartbeat=H] [transfer-timeout=T] [fault=a,b]
 *   [timers=0,2,4]`: voters that agree on one committed membership entry in term 1, each
 *   Postgres a standby at 1:100, the first election timers at E plus the given jitters
 *   (default 0); `fresh n1 [...]` makes uninitialised nodes instead.
 * - `observe n1 [lsn=N] [tl=T] [history=1@100,2@300] [primary] [stopped|absent] [fenced] [behind]
 *   [names=desired|old] [read-ago=TICKS]`
 * - `tick n1|all [count] [quiet]`, `deliver [from=] [to=] [kind=]`, `drop [from=] [to=] [kind=]`
 * - `admin n1 transfer [n2] | pause | resume | kv KEY VALUE | add-learner n4 | remove n3 |
 *   sync-mode MODE`, `bootstrap n1`, `restart n1`, `status [n1 ...]`, `pending`.
 *
 * @module
 */
import {
  type CoreConfig,
  defaultCoreConfig,
  type FaultSwitches,
  NO_FAULTS,
  type PersistentState,
  type PostgresObservation,
  synchronousStandbyNames,
  type TimelineSwitch,
} from "../../../src/core/mod.ts";
import { formatNode } from "./format.ts";
import { InteractionWorld, type MessageFilter } from "./network.ts";

/** One parsed command line. */
interface CommandLine {
  readonly name: string;
  readonly words: readonly string[];
  readonly options: ReadonlyMap<string, string>;
}

function parseCommand(line: string): CommandLine {
  const [name = "", ...rest] = line.trim().split(/\s+/);
  const words: string[] = [];
  const options = new Map<string, string>();
  for (const part of rest) {
    const equals = part.indexOf("=");
    if (equals > 0) options.set(part.slice(0, equals), part.slice(equals + 1));
    else words.push(part);
  }
  return { name, words, options };
}

function integerOption(command: CommandLine, key: string, fallback: number): number {
  const text = command.options.get(key);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${key}=${text} is not an integer`);
  return value;
}

function configOf(command: CommandLine): CoreConfig {
  const faults: Record<string, boolean> = { ...NO_FAULTS };
  for (const name of (command.options.get("fault") ?? "").split(",").filter(Boolean)) {
    if (!(name in faults)) throw new Error(`unknown fault switch ${name}`);
    faults[name] = true;
  }
  return defaultCoreConfig({
    electionTimeoutTicks: integerOption(command, "election", 10),
    electionTimeoutJitterTicks: integerOption(command, "jitter", 5),
    heartbeatIntervalTicks: integerOption(command, "heartbeat", 2),
    transferTimeoutTicks: integerOption(command, "transfer-timeout", 20),
    faults: faults as unknown as FaultSwitches,
  });
}

function memberDisk(voters: readonly string[]): PersistentState {
  return {
    hardState: { term: 1, votedFor: null, commitIndex: 1 },
    snapshot: null,
    entries: [{
      term: 1,
      index: 1,
      command: { kind: "membership", membership: { voters: [...voters], learners: [] } },
    }],
  };
}

const FRESH_DISK: PersistentState = {
  hardState: { term: 0, votedFor: null, commitIndex: 0 },
  snapshot: null,
  entries: [],
};

function parseHistory(text: string | undefined): TimelineSwitch[] {
  if (text === undefined || text === "") return [];
  return text.split(",").map((item) => {
    const [timeline, endLsn] = item.split("@").map(Number);
    if (!Number.isSafeInteger(timeline) || !Number.isSafeInteger(endLsn)) {
      throw new Error(`history item ${item} is not TIMELINE@LSN`);
    }
    return { timeline: timeline!, endLsn: endLsn! };
  });
}

/**
 * The synchronous_standby_names an `observe` reports: `names=desired` is what the node's
 * core asks of its primary now (what a reconcile would have set), `names=old` the value of
 * asynchronous mode without a commit gate (empty); a primary reports the empty value unless
 * told otherwise, a standby none.
 */
function namesOf(world: InteractionWorld, command: CommandLine, primary: boolean): string | null {
  const names = command.options.get("names");
  if (names === "desired") return synchronousStandbyNames(world.state(command.words[0]!));
  if (names === "old") return "";
  if (names !== undefined) throw new Error(`names=${names}: expected desired or old`);
  return primary ? "" : null;
}

function observationOf(world: InteractionWorld, command: CommandLine): PostgresObservation {
  const words = new Set(command.words.slice(1));
  const primary = words.has("primary");
  const status = words.has("absent") ? "absent" : words.has("stopped") ? "stopped" : "running";
  return {
    status,
    inRecovery: !primary && status !== "absent",
    position: status === "absent" ? null : {
      timeline: integerOption(command, "tl", 1),
      lsn: integerOption(command, "lsn", 100),
      history: parseHistory(command.options.get("history")),
    },
    replayCaughtUp: !words.has("behind"),
    synchronousStandbyNames: namesOf(world, command, primary),
    fenced: words.has("fenced"),
    receivingWal: words.has("receiving"),
  };
}

function filterOf(command: CommandLine): MessageFilter {
  const filter: { from?: string; to?: string; kind?: string } = {};
  for (const key of ["from", "to", "kind"] as const) {
    const value = command.options.get(key);
    if (value !== undefined) filter[key] = value;
  }
  return filter;
}

function createNodes(world: InteractionWorld, command: CommandLine): string[] {
  const config = configOf(command);
  const ids = command.words;
  const timers = (command.options.get("timers") ?? "").split(",").filter(Boolean).map(Number);
  for (const [position, id] of ids.entries()) {
    const disk = command.name === "fresh" ? FRESH_DISK : memberDisk(ids);
    world.add(id, config, disk, timers[position] ?? 0);
    if (command.name === "cluster") {
      world.step(id, {
        kind: "postgres",
        observation: observationOf(world, parseCommand(`observe ${id}`)),
        readTicksAgo: 0,
      });
    }
  }
  return ids.map((id) => formatNode(world.state(id)));
}

function tick(world: InteractionWorld, command: CommandLine): string[] {
  const [target = "all", countText = "1"] = command.words;
  const ids = target === "all" ? world.ids() : [target];
  const quiet = command.words.includes("quiet");
  const lines: string[] = [];
  for (let round = 0; round < Number(countText); round++) {
    for (const id of ids) {
      const output = world.step(id, { kind: "tick", jitterTicks: 0 });
      if (!quiet) lines.push(...output.map((line) => (ids.length > 1 ? `${id}: ${line}` : line)));
    }
  }
  return lines;
}

function admin(world: InteractionWorld, command: CommandLine): string[] {
  const [id = "", action = "", first, second] = command.words;
  switch (action) {
    case "transfer":
      return world.admin(id, { kind: "transfer", target: first ?? null });
    case "pause":
    case "resume":
      return world.admin(id, {
        kind: "propose",
        command: { kind: "pause", paused: action === "pause" },
      });
    case "kv":
      return world.admin(id, {
        kind: "propose",
        command: { kind: "kv", key: first ?? "", value: second === "null" ? null : second ?? "" },
      });
    case "sync-mode":
      return world.admin(id, {
        kind: "propose",
        command: { kind: "sync-mode", mode: first === "asynchronous" ? "asynchronous" : "quorum" },
      });
    case "add-learner":
      return world.admin(id, { kind: "add-learner", node: first ?? "" });
    case "remove":
      return world.admin(id, { kind: "remove-member", node: first ?? "" });
    default:
      throw new Error(`unknown admin action ${JSON.stringify(action)}`);
  }
}

function runCommand(world: InteractionWorld, command: CommandLine): string[] {
  const first = command.words[0] ?? "";
  switch (command.name) {
    case "cluster":
    case "fresh":
      return createNodes(world, command);
    case "observe":
      return world.step(first, {
        kind: "postgres",
        observation: observationOf(world, command),
        readTicksAgo: integerOption(command, "read-ago", 0),
      });
    case "tick":
      return tick(world, command);
    case "deliver":
      return world.deliver(filterOf(command));
    case "drop":
      return [`dropped ${world.drop(filterOf(command))}`];
    case "admin":
      return admin(world, command);
    case "bootstrap":
      return world.step(first, { kind: "bootstrap" });
    case "restart":
      world.restart(first);
      return [formatNode(world.state(first))];
    case "status":
      return (command.words.length > 0 ? command.words : world.ids()).map((id) =>
        formatNode(world.state(id))
      );
    case "pending":
      return world.pending();
    default:
      throw new Error(`unknown command ${JSON.stringify(command.name)}`);
  }
}

/**
 * Runs a script's text and returns it with every block's output replaced by the actual one.
 * A command that throws prints `error: …` as its output, so a script can expect refusals.
 */
export function runInteractionScript(text: string): string {
  const world = new InteractionWorld();
  const lines = text.split("\n");
  const out: string[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index]!;
    index += 1;
    if (line.trim() === "" || line.startsWith("#")) {
      out.push(line);
      continue;
    }
    out.push(line, "----");
    if (lines[index] !== "----") throw new Error(`line ${index}: expected ---- after ${line}`);
    index += 1;
    while (index < lines.length && lines[index]!.trim() !== "") index += 1;
    let actual: string[];
    try {
      actual = runCommand(world, parseCommand(line));
    } catch (error) {
      actual = [`error: ${error instanceof Error ? error.message : String(error)}`];
    }
    out.push(...(actual.length === 0 ? ["ok"] : actual));
  }
  return out.join("\n");
}
