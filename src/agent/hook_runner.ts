/**
 * Hooks (Patroni's callbacks): `on_start`, `on_stop` and `on_role_change` commands, run as
 * `setsid sh -c 'COMMAND "$@"' hook ACTION ROLE CLUSTER` when the local Postgres starts, stops or
 * changes role. They run one at a time in order, off the agent's loop (it only queues), each
 * killed after its timeout; every outcome is logged. A full queue drops the oldest hook.
 *
 * @module
 */
import type { PostgresObservation } from "../core/types.ts";
import type { AgentConfig } from "../config/config_schema.ts";
import type { Logger } from "./logger.ts";

/** Most hooks waiting to run; a VIP manager needs the latest role, not every old one. */
export const MAX_QUEUED_HOOKS = 16;

/** Patroni's callback actions. */
export type HookAction = "on_start" | "on_stop" | "on_role_change";
/** The role passed to a hook. */
export type HookRole = "primary" | "replica" | "demoted";

/** One hook to run. */
export interface HookCall {
  readonly action: HookAction;
  readonly role: HookRole;
}

/** The role a running Postgres plays: writable primary, standby, or fenced (demoted). */
export function hookRoleOf(observation: PostgresObservation | null): HookRole | null {
  if (observation === null || observation.status !== "running") return null;
  if (observation.inRecovery) return "replica";
  return observation.fenced ? "demoted" : "primary";
}

/** The hooks one change of observation calls for, in order. */
export function hookCallsFor(
  before: PostgresObservation | null,
  after: PostgresObservation | null,
): HookCall[] {
  const was = hookRoleOf(before);
  const now = hookRoleOf(after);
  // An unreadable Postgres may still run: no hook until a read tells what changed.
  if (after === null || was === now || after.status === "unreadable") return [];
  if (was === null && now !== null) {
    // Unknown before (the agent just started): a start only when it really started now.
    return before === null ? [] : [{ action: "on_start", role: now }];
  }
  if (now === null) return after.status === "running" ? [] : [{ action: "on_stop", role: was! }];
  return [{ action: "on_role_change", role: now }];
}

/**
 * The hooks a sequence of observations calls for. A failed read (`unreadable`) says nothing
 * about the server, so each observation is compared with the last readable one: a primary
 * whose reads failed for a while and then answer again as the same primary calls no hook
 * (it never stopped), and one that answers fenced calls `on_role_change`.
 */
export class HookWatch {
  #lastReadable: PostgresObservation | null = null;

  /** The hooks `observation` calls for; remembers it unless its read failed. */
  next(observation: PostgresObservation | null): HookCall[] {
    if (observation === null || observation.status === "unreadable") return [];
    const calls = hookCallsFor(this.#lastReadable, observation);
    this.#lastReadable = observation;
    return calls;
  }
}

/** Runs the configured hooks one at a time. */
export class HookRunner {
  readonly #queue: HookCall[] = [];
  #running = false;

  constructor(
    private readonly hooks: AgentConfig["hooks"],
    private readonly clusterName: string,
    private readonly log: Logger,
  ) {}

  /** Queues the hook for `call` if one is configured; never waits. */
  enqueue(call: HookCall): void {
    if (this.#commandOf(call.action) === null) return;
    if (this.#queue.length >= MAX_QUEUED_HOOKS) {
      const dropped = this.#queue.shift()!;
      this.log.warn("hooks", `queue full: ${dropped.action} ${dropped.role} dropped`);
    }
    this.#queue.push(call);
    if (!this.#running) void this.#drain();
  }

  /** Resolves once no hook is queued or running (for a clean stop). */
  async idle(): Promise<void> {
    while (this.#running) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  #commandOf(action: HookAction): string | null {
    if (action === "on_start") return this.hooks.onStart;
    if (action === "on_stop") return this.hooks.onStop;
    return this.hooks.onRoleChange;
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let call = this.#queue.shift(); call; call = this.#queue.shift()) {
        await this.#run(call, this.#commandOf(call.action)!);
      }
    } finally {
      this.#running = false;
    }
  }

  async #run(call: HookCall, command: string): Promise<void> {
    const label = `${call.action} ${call.role} ${this.clusterName}`;
    const startedMs = performance.now();
    try {
      // Output is not captured: a hook that leaves a daemon behind would hold the pipe
      // open, and the runner must only wait for the hook itself.
      // setsid: the hook leads a process group of its own, so that a timeout kills what
      // it started too.
      const child = new Deno.Command("setsid", {
        args: [
          "sh",
          "-c",
          `${command} "$@"`,
          "hactl-hook",
          call.action,
          call.role,
          this.clusterName,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        try {
          Deno.kill(-child.pid, "SIGKILL");
        } catch { /* already gone */ }
      }, this.hooks.timeoutMs);
      const status = await child.status.finally(() => clearTimeout(timer));
      const elapsedMs = Math.round(performance.now() - startedMs);
      const outcome = killed
        ? `killed after ${this.hooks.timeoutMs} ms`
        : `exit ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
      const line = `${label}: ${outcome} in ${elapsedMs} ms`;
      if (status.success) this.log.info("hooks", line);
      else this.log.warn("hooks", line);
    } catch (error) {
      this.log.warn("hooks", `${label}: cannot run ${command}: ${(error as Error).message}`);
    }
  }
}
