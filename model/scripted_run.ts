/**
 * A scripted schedule of model actions: each step must be an action the model offers in
 * the current state, so whatever a script reaches is reachable by the explorer too (and a
 * counterexample found after it replays from the cold start as script + found actions).
 * Used by the warm starts and by tests that continue a counterexample.
 *
 * @module
 */
import type { Message } from "../src/core/mod.ts";
import type { ClusterModelState } from "./cluster_types.ts";
import { applyAction, type ClusterAction, enabledActions } from "./cluster_model.ts";
import type { ModelContext } from "./cluster_step.ts";

/** Most steps of one scripted phase (an election takes a few dozen). */
const MAX_PHASE_STEPS = 400;

/** A schedule under construction: the state it has reached and the actions taken. */
export class ScriptedRun {
  readonly context: ModelContext;
  state: ClusterModelState;
  readonly script: ClusterAction[] = [];

  constructor(context: ModelContext, state: ClusterModelState) {
    this.context = context;
    this.state = state;
  }

  /** Takes `action` (which must be enabled). */
  run(action: ClusterAction): void {
    const wanted = JSON.stringify(action);
    const enabled = enabledActions(this.context, this.state);
    if (!enabled.some((candidate) => JSON.stringify(candidate) === wanted)) {
      throw new Error(`script: ${wanted} is not enabled here (bounds too tight?)`);
    }
    this.script.push(action);
    this.state = applyAction(this.context, this.state, action);
  }

  /** True when an enabled action matches. */
  can(match: (action: ClusterAction) => boolean): boolean {
    return enabledActions(this.context, this.state).some(match);
  }

  /** Takes the first enabled action that matches; `what` names it in the error otherwise. */
  take(match: (action: ClusterAction) => boolean, what: string): void {
    const action = enabledActions(this.context, this.state).find(match);
    if (action === undefined) throw new Error(`script: cannot ${what} (bounds too tight?)`);
    this.run(action);
  }

  /** The in-flight message an action delivers or drops, or null. */
  messageOf(action: ClusterAction): Message | null {
    return action.kind === "deliver" || action.kind === "drop"
      ? this.state.messages[action.message] ?? null
      : null;
  }

  /** Drops every in-flight message (the network may lose any of them). */
  dropAll(): void {
    for (let step = 0; this.state.messages.length > 0; step++) {
      if (step >= MAX_PHASE_STEPS) throw new Error("script: messages keep coming");
      this.take((action) => action.kind === "drop", "drop a message");
    }
  }

  /**
   * Elects `candidate` with the votes of `voters` alone: only messages between them are
   * delivered, every other message is lost, and the candidate's clock runs ahead as far as
   * the drift bound allows so that it times out first. Stops the moment it leads, with its
   * first appends still in flight.
   */
  elect(candidate: number, voters: readonly number[]): void {
    const ids = this.context.nodeIds;
    const names = voters.map((voter) => ids[voter]!);
    const talks = (action: ClusterAction) => {
      const sent = this.messageOf(action);
      return action.kind === "deliver" && sent !== null &&
        ((sent.from === ids[candidate] && names.includes(sent.to)) ||
          (sent.to === ids[candidate] && names.includes(sent.from)));
    };
    const ticksAlone = (action: ClusterAction) =>
      action.kind === "tick" && action.node === candidate;
    for (let step = 0; this.state.nodes[candidate]!.core?.role !== "leader"; step++) {
      if (step >= MAX_PHASE_STEPS) throw new Error(`script: ${ids[candidate]} was not elected`);
      const supervise = (action: ClusterAction) => action.kind === "reconcile";
      // Supervisors act first: a standby without a live leader stops its WAL receiver, which
      // a voter's vote needs (issue 9's freshness rule).
      if (this.can(supervise)) this.take(supervise, "let a supervisor act");
      else if (this.can(talks)) this.take(talks, "deliver an election message");
      else if (this.state.messages.length > 0) {
        this.take((action) => action.kind === "drop", "drop a message");
      } else if (this.can(ticksAlone)) this.take(ticksAlone, "run the candidate's clock ahead");
      else this.take((action) => action.kind === "tick-all", "let time pass");
    }
  }
}
