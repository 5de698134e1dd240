/**
 * A leader whose own Postgres does not run as a primary in time hands leadership over, so
 * that a healthy standby becomes the writable primary (Patroni and pg_auto_failover release
 * the leader key likewise). Without it, a leader whose Postgres cannot start (a PANIC in
 * crash recovery, a bad setting, an unreadable data directory) keeps its leadership, and the
 * cluster has no writable primary, for as long as its majority keeps answering.
 *
 * What it counts: leader ticks while its latest observation does not show its Postgres
 * running as a primary, i.e. since it became leader or last saw it so (`ticksWithoutPrimary`),
 * not while a transfer runs (which has its own timeout) nor while the cluster is paused (no
 * automatic role change). The count reads the latest observation, not how recent it is: a
 * healthy primary is not handed over because reads are rare (the model reads only on a
 * change). A shell that can read nothing at all (not even the stopped data directory) feeds
 * an `unreadable` observation after a bounded run of failed reads (reconciler.ts,
 * `MAX_FAILED_OBSERVATIONS`): not a primary, so the count goes on and the hand-over follows
 * (a step-down: with no position known, no standby is known to hold all of its WAL). At
 * `primaryStartTimeoutTicks` (config.ts says why its value) it hands over:
 * - to the best voter (bestTransferTarget) by a leadership transfer when that voter already
 *   holds all of this node's WAL (a caught-up standby): the usual switchover, nothing lost;
 * - else it steps down (same term). The other voters elect among themselves as after a
 *   leader's death, D2's vote rule unchanged; this node's vote still guards its own WAL.
 * Either way it then waits to campaign until it sees its Postgres running
 * (`campaignWaitsForPostgres`, election.ts), so that the others win. A transfer that times
 * out also ends in a step-down (tick.ts), never in a retry.
 *
 * Safety is unchanged: both ways already exist and end write authority (a transfer at its
 * start, a step-down at once). Nothing here grants authority or a vote.
 *
 * @module
 */
import type { Draft, Output } from "./draft.ts";
import { becomeFollower } from "./roles.ts";
import { beginTransfer, bestTransferTarget } from "./leader_admin.ts";
import { relateWalPositions } from "./wal_position.ts";
import { failoverTagBlocker } from "./cluster_config.ts";
import type { NodeId, NodeState } from "./types.ts";

/** True when the latest observation shows the local Postgres running as a primary. */
function runsAsPrimary(state: NodeState): boolean {
  const postgres = state.postgres;
  return postgres !== null && postgres.status === "running" && !postgres.inRecovery;
}

/**
 * After an observation: a leader that sees its Postgres running as a primary starts counting
 * afresh; a node that handed over may campaign again once its Postgres runs at all.
 */
export function notePrimaryObservation(draft: Draft): void {
  if (draft.role === "leader" && runsAsPrimary(draft)) draft.ticksWithoutPrimary = 0;
  if (draft.postgres?.status === "running") draft.campaignWaitsForPostgres = false;
}

/** True when this leader's hand-over is due (it waited the whole bound). */
export function handOverDue(state: NodeState): boolean {
  return state.role === "leader" &&
    state.ticksWithoutPrimary >= state.config.primaryStartTimeoutTicks;
}

/**
 * One leader tick of the watch. Returns false when this node stepped down. A leader no other
 * voter could replace (a sole voter, or every other one tagged nofailover) keeps leading:
 * stepping down would gain nothing, and its shell keeps trying to start Postgres.
 */
export function watchPrimaryStart(draft: Draft, output: Output): boolean {
  if (draft.transfer !== null || draft.applied.paused) return true;
  if (runsAsPrimary(draft)) {
    draft.ticksWithoutPrimary = 0;
    return true;
  }
  const bound = draft.config.primaryStartTimeoutTicks;
  draft.ticksWithoutPrimary = Math.min(draft.ticksWithoutPrimary + 1, bound);
  if (draft.ticksWithoutPrimary < bound || !anotherMayLead(draft)) return true;
  draft.campaignWaitsForPostgres = true;
  const target = caughtUpTarget(draft);
  const waited = `${bound} ticks`;
  if (target !== null) {
    output.effects.push({
      kind: "warning",
      text: `${draft.id}'s Postgres has not run as a primary for ${waited}: handing ` +
        `leadership to ${target}, a standby that holds all of its WAL`,
    });
    beginTransfer(draft, output, target, null);
    return true;
  }
  output.effects.push({
    kind: "warning",
    text: `${draft.id}'s Postgres has not run as a primary for ${waited} and no standby ` +
      `is known to hold all of its WAL: stepping down so that another member is elected`,
  });
  becomeFollower(draft, output, draft.term, null);
  return false;
}

/** True when some other voter may lead (not tagged nofailover). */
function anotherMayLead(draft: Draft): boolean {
  return draft.membership.voters.some((voter) =>
    voter !== draft.id && failoverTagBlocker(draft.applied, voter) === null
  );
}

/** The best voter to take over, when it already holds every WAL byte this node holds. */
function caughtUpTarget(draft: Draft): NodeId | null {
  const target = bestTransferTarget(draft);
  const own = draft.postgres?.position ?? null;
  const theirs = target === null ? null : draft.progress[target]?.position ?? null;
  if (target === null || own === null || theirs === null) return null;
  const relation = relateWalPositions(own, theirs);
  return relation === "equal" || relation === "behind" ? target : null;
}
