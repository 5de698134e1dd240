/**
 * The operator's side of the model: every admin request and the bootstrap input, as model
 * actions offered to a node and applied through the real core's `step`.
 *
 * Bounds (why they are enough): kv proposals and voter removals keep their own budgets
 * (figure 8; one removal makes the sync set and the Raft quorum differ). Every other
 * operator request shares one budget, `maxOperatorRequests`: each hazard the issues name
 * needs one request of its kind — a switchover whose target stalls (one transfer, its
 * TimeoutNow delivered late: messages stay in flight as long as the search likes), a pause
 * while a partition deposes the leader (one pause), asynchronous mode with the commit gate
 * (one sync-mode change), the switchover bookkeeping command (one: its applied target is read
 * by nothing that decides), a learner added back and promoted (one add-learner; the promotion
 * is the core's own), a bootstrap sent to a member (one; a new cluster's own bootstrap and
 * its learners are spent by the "bootstrap" warm start, model/warm_start.ts). A second request only combines
 * hazards already checked one at a time; the dedicated runs give two so that pause can be
 * followed by resume and a mode change by its return.
 *
 * @module
 */
import {
  type AdminRequest,
  type Command,
  type Input,
  isInitialised,
  type NodeState,
} from "../src/core/mod.ts";
import type { ClusterModelState, ModelNode } from "./cluster_types.ts";
import type { ModelContext } from "./cluster_step.ts";

/**
 * Maintenance commands an operator proposes (hactl pause/resume, hactl sync-mode), and the
 * `switchover` bookkeeping command (the member a switchover heads to, or none).
 */
export type MaintenanceCommand =
  | "pause"
  | "resume"
  | "asynchronous"
  | "quorum"
  | "record-switchover"
  | "clear-switchover";

/** An operator's request, as a model action. */
export type OperatorAction =
  /** Transfer leadership to `target`, or to the best voter when target is -1 (switchover). */
  | { readonly kind: "transfer"; readonly node: number; readonly target: number }
  | { readonly kind: "maintenance"; readonly node: number; readonly command: MaintenanceCommand }
  /** Add `target`, not a member, as a learner (the core promotes it once caught up). */
  | { readonly kind: "add-learner"; readonly node: number; readonly target: number }
  /** `hactl run --bootstrap` on a node: a new cluster, or ignored by a member. */
  | { readonly kind: "bootstrap"; readonly node: number };

/** Operator actions are offered only to the node that can act on them (leaders, for admin requests). */
export function operatorActions(
  context: ModelContext,
  state: ClusterModelState,
  node: ModelNode,
  index: number,
): OperatorAction[] {
  const core = node.core;
  if (core === null || state.operatorRequests >= context.bounds.maxOperatorRequests) return [];
  const actions: OperatorAction[] = bootstrapAllowed(state, core)
    ? [{ kind: "bootstrap", node: index }]
    : [];
  if (core.role !== "leader") return actions;
  actions.push({ kind: "transfer", node: index, target: -1 });
  for (const voter of core.membership.voters) {
    const target = context.nodeIds.indexOf(voter);
    if (target !== index) actions.push({ kind: "transfer", node: index, target });
  }
  const applied = core.applied;
  actions.push({ kind: "maintenance", node: index, command: applied.paused ? "resume" : "pause" });
  actions.push({
    kind: "maintenance",
    node: index,
    command: applied.syncMode === "quorum" ? "asynchronous" : "quorum",
  });
  actions.push({
    kind: "maintenance",
    node: index,
    command: applied.switchoverTarget === null ? "record-switchover" : "clear-switchover",
  });
  context.nodeIds.forEach((id, target) => {
    const member = core.membership.voters.includes(id) || core.membership.learners.includes(id);
    if (!member) actions.push({ kind: "add-learner", node: index, target });
  });
  return actions;
}

/**
 * `hactl run --bootstrap` is run on one node of a new cluster: offered to a member (the core
 * ignores it) or, while no node belongs to a cluster, to any. Bootstrapping a second node
 * beside an existing cluster makes a second cluster: an operator's error the core cannot see.
 */
function bootstrapAllowed(state: ClusterModelState, core: NodeState): boolean {
  return isInitialised(core) ||
    state.nodes.every((node) => node.disk.snapshot === null && node.disk.entries.length === 0);
}

/** The core input an operator action gives its node. */
export function operatorInput(
  context: ModelContext,
  action: OperatorAction,
  serial: number,
): Input {
  if (action.kind === "bootstrap") return { kind: "bootstrap" };
  const requestId = `operator-${serial}`;
  let request: AdminRequest;
  switch (action.kind) {
    case "transfer":
      request = {
        kind: "transfer",
        requestId,
        target: action.target < 0 ? null : context.nodeIds[action.target]!,
      };
      break;
    case "add-learner":
      request = { kind: "add-learner", requestId, node: context.nodeIds[action.target]! };
      break;
    case "maintenance":
      request = {
        kind: "propose",
        requestId,
        command: maintenanceCommand(
          action.command,
          context.nodeIds[(action.node + 1) % context.nodeIds.length]!,
        ),
      };
      break;
  }
  return { kind: "admin", request };
}

/** The command of a maintenance action; a recorded switchover heads to `peer`. */
function maintenanceCommand(command: MaintenanceCommand, peer: string): Command {
  switch (command) {
    case "record-switchover":
    case "clear-switchover":
      return { kind: "switchover", target: command === "record-switchover" ? peer : null };
    case "pause":
    case "resume":
      return { kind: "pause", paused: command === "pause" };
    case "asynchronous":
    case "quorum":
      return { kind: "sync-mode", mode: command };
  }
}

/** Stable text for an operator action. */
export function describeOperatorAction(context: ModelContext, action: OperatorAction): string {
  const ids = context.nodeIds;
  switch (action.kind) {
    case "transfer":
      return `admin: ${ids[action.node]} transfers leadership to ${
        action.target < 0 ? "the best voter" : ids[action.target]
      }`;
    case "maintenance":
      return `admin: ${ids[action.node]} proposes ${action.command}`;
    case "add-learner":
      return `admin: ${ids[action.node]} adds ${ids[action.target]} as a learner`;
    case "bootstrap":
      return `bootstrap ${ids[action.node]}`;
  }
}
