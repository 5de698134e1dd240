/**
 * The leader's agent carries out the scheduled switchover (scheduled_switchover.ts) when its
 * time comes. The clock is the shell's: the core has none. The action is the core's ordinary
 * transfer request, so nothing here needs the model.
 *
 * At the time, Patroni's rule: only the leader that was leading when it was scheduled
 * (`from`) carries it out; any other leader drops it with a logged reason and an outcome
 * entry, never a surprise switchover. A schedule found much later than its time (the cluster
 * had no leader meanwhile) is dropped as stale. While the cluster is paused it waits.
 *
 * The schedule is removed, committed, before the transfer is requested: once the transfer
 * succeeds this node no longer leads and could not remove it, and a schedule that is gone
 * can never run twice. The outcome (started, failed, dropped) is recorded and logged.
 *
 * @module
 */
import type { AdminRequest, Command, NodeState } from "../core/types.ts";
import type { AdminResult, SubmitOptions } from "./agent_handle.ts";
import type { DecisionLog } from "./decision_log.ts";
import type { Logger } from "./logger.ts";
import {
  hasUnreadableSchedule,
  outcomeCommand,
  parseScheduleTime,
  readScheduledSwitchover,
  type ScheduledSwitchover,
  type SwitchoverOutcome,
  unscheduleCommand,
} from "./scheduled_switchover.ts";
import { SCHEDULE_CHANGES } from "./schedule_changes.ts";

/** A schedule found later than this after its time is stale: dropped, not run (Patroni too). */
export const STALE_SCHEDULE_MS = 30_000;
/** How long the scheduler waits for one proposal to commit. */
const PROPOSAL_TIMEOUT_MS = 10_000;
/** How long it waits for the transfer (the core gives up after transferTimeoutTicks first). */
const TRANSFER_TIMEOUT_MS = 60_000;

/** What the leader does about the key-value map's schedule now. */
export type ScheduleDecision =
  | { readonly kind: "none" }
  | { readonly kind: "wait" }
  | {
    readonly kind: "drop";
    readonly schedule: ScheduledSwitchover | null;
    readonly reason: string;
  }
  | { readonly kind: "run"; readonly schedule: ScheduledSwitchover };

/** Decides, for the leader `leaderId` at wall-clock `nowMs`, what to do about the schedule. */
export function decideScheduledSwitchover(options: {
  readonly keyValues: Readonly<Record<string, string>>;
  readonly leaderId: string;
  readonly paused: boolean;
  readonly nowMs: number;
}): ScheduleDecision {
  const { keyValues, leaderId, nowMs } = options;
  if (hasUnreadableSchedule(keyValues)) {
    return { kind: "drop", schedule: null, reason: "its value is not a schedule" };
  }
  const schedule = readScheduledSwitchover(keyValues);
  if (schedule === null) return { kind: "none" };
  const atMs = parseScheduleTime(schedule.at);
  if (atMs === null) return { kind: "drop", schedule, reason: `${schedule.at} is not a time` };
  if (options.paused || nowMs < atMs) return { kind: "wait" };
  if (nowMs - atMs > STALE_SCHEDULE_MS) {
    return {
      kind: "drop",
      schedule,
      reason: `stale: found ${Math.round((nowMs - atMs) / 1000)} s after its time (no leader ` +
        "could run it then); schedule it again if it is still wanted",
    };
  }
  if (schedule.from !== leaderId) {
    return {
      kind: "drop",
      schedule,
      reason: `the leader is ${leaderId}, no longer ${schedule.from} (the leader when it was ` +
        "scheduled): leadership moved meanwhile, so it is not carried out",
    };
  }
  return { kind: "run", schedule };
}

/** True when a decision asks for an action (a run or a drop). */
function actionable(decision: ScheduleDecision): boolean {
  return decision.kind === "run" || decision.kind === "drop";
}

/** Submits an operator request to the local core (Agent.submit). */
export type SubmitRequest = (
  request: AdminRequest,
  timeoutMs: number,
  options?: SubmitOptions,
) => Promise<AdminResult>;

/** Runs scheduled switchovers on the leader; one at a time. */
export class SwitchoverScheduler {
  #busy = false;
  #sequence = 0;

  constructor(
    private readonly nodeId: string,
    /** The core's state now (read again after waiting for the lock). */
    private readonly currentState: () => NodeState,
    private readonly submit: SubmitRequest,
    private readonly decisions: DecisionLog,
    private readonly log: Logger,
  ) {}

  /** Called by the leader's housekeeping: acts on a due schedule, in the background. */
  check(nowMs: number): void {
    if (this.#busy || !actionable(this.#decide(nowMs))) return;
    this.#busy = true;
    this.#act(nowMs, performance.now()).catch((error) => {
      this.log.error("switchover", `scheduled switchover: ${String(error)}`);
    }).finally(() => this.#busy = false);
  }

  #decide(nowMs: number): ScheduleDecision {
    const state = this.currentState();
    if (state.role !== "leader" || state.transfer !== null) return { kind: "none" };
    return decideScheduledSwitchover({
      keyValues: state.applied.keyValues,
      leaderId: state.id,
      paused: state.applied.paused,
      nowMs,
    });
  }

  /**
   * Decides again under the lock the API's cancel takes (the schedule may be gone by now),
   * removes or drops the schedule there, and only then, outside it, requests the transfer.
   */
  async #act(nowMs: number, checkedAtMs: number): Promise<void> {
    const due = await SCHEDULE_CHANGES.run(async () => {
      // The wall-clock time of the check, advanced by the (monotonic) wait for the lock.
      const decision = this.#decide(nowMs + performance.now() - checkedAtMs);
      if (decision.kind === "drop") await this.#drop(decision.schedule, decision.reason);
      if (decision.kind !== "run") return null;
      // Removed first: committed, it can never run again, whatever happens next.
      const removed = await this.#propose(unscheduleCommand(), "remove the schedule to run it");
      return removed ? decision.schedule : null;
    });
    if (due !== null) await this.#run(due);
  }

  async #drop(schedule: ScheduledSwitchover | null, reason: string): Promise<void> {
    const text = `scheduled switchover${schedule ? ` at ${schedule.at}` : ""} dropped: ${reason}`;
    this.log.warn("switchover", text);
    this.decisions.record("scheduled-switchover", text);
    if (schedule !== null) await this.#recordOutcome(schedule, "dropped", reason);
    await this.#propose(unscheduleCommand(), "remove the dropped schedule");
  }

  /** Requests the transfer of a schedule already removed, and records what became of it. */
  async #run(schedule: ScheduledSwitchover): Promise<void> {
    const to = schedule.candidate ?? "the most advanced standby";
    const started = `transfer from ${this.nodeId} to ${to} requested`;
    this.decisions.record(
      "scheduled-switchover",
      `scheduled switchover at ${schedule.at}: ${started}`,
    );
    await this.#recordOutcome(schedule, "started", started);
    // Refused, not tried, when the target does not stream: trying would stop writes until
    // the transfer timed out; the outcome then says why.
    const result = await this.submit(
      { kind: "transfer", requestId: this.#requestId(), target: schedule.candidate },
      TRANSFER_TIMEOUT_MS,
      { refuseUnconnectedTarget: true },
    );
    if (result.ok) {
      const leader = result.leaderHint ?? to;
      this.log.info("switchover", `scheduled switchover at ${schedule.at} done: ${leader} leads`);
      return;
    }
    const reason = `the transfer to ${to} failed: ${result.error}`;
    this.log.warn("switchover", `scheduled switchover at ${schedule.at}: ${reason}`);
    this.decisions.record("scheduled-switchover", `scheduled switchover failed: ${reason}`);
    // Recorded only if this node still leads (a refused transfer); else the log keeps it.
    await this.#recordOutcome(schedule, "failed", reason);
  }

  async #recordOutcome(
    schedule: ScheduledSwitchover,
    outcome: SwitchoverOutcome["outcome"],
    reason: string,
  ): Promise<boolean> {
    const entry: SwitchoverOutcome = {
      schedule,
      outcome,
      reason,
      atIso: new Date().toISOString(),
      by: this.nodeId,
    };
    return await this.#propose(outcomeCommand(entry), `record the outcome (${outcome})`);
  }

  /** Proposes one command and waits for its commit; false (logged) when it did not commit. */
  async #propose(command: Command, what: string): Promise<boolean> {
    const result = await this.submit(
      { kind: "propose", requestId: this.#requestId(), command },
      PROPOSAL_TIMEOUT_MS,
    );
    if (!result.ok) this.log.warn("switchover", `could not ${what}: ${result.error}`);
    return result.ok;
  }

  #requestId(): string {
    return `schedule-${this.nodeId}-${++this.#sequence}`;
  }
}
