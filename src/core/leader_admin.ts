/**
 * Leader-side handling of operator requests: proposals, membership changes, learner
 * promotion, and leadership transfer (the basis of switchover).
 *
 * @module
 */
import type { Draft, Output } from "./draft.ts";
import { appendEntries, send } from "./draft.ts";
import { syncProgressWithMembership } from "./roles.ts";
import { broadcastAppend, sendAppend } from "./replication.ts";
import { lastIndex } from "./raft_log.ts";
import { ownTermCommitted } from "./lease.ts";
import {
  addLearner,
  isVoter,
  type MembershipChange,
  promoteLearner,
  removeMember,
} from "./membership.ts";
import { lagBytes, relateWalPositions } from "./wal_position.ts";
import { synchronousStandbyNames } from "./postgres_role.ts";
import { keyValueKeyProblem, keyValueValueProblem } from "./cluster_state.ts";
import { failoverPriority, failoverTagBlocker } from "./cluster_config.ts";
import type { AdminRequest, Command, NodeId, WalPosition } from "./types.ts";

/** Answers an admin request at once (refusals, or success that needs no commit). */
export function answer(
  output: Output,
  requestId: string,
  error: string | null,
  leaderHint: NodeId | null,
): void {
  output.effects.push({ kind: "admin-result", requestId, ok: error === null, error, leaderHint });
}

/** Handles an operator request; only the leader acts, others point to it. */
export function handleAdmin(draft: Draft, output: Output, request: AdminRequest): void {
  if (draft.role !== "leader") {
    const where = draft.leader
      ? `the leader is ${draft.leader}`
      : "no leader is known yet; retry shortly";
    return answer(
      output,
      request.requestId,
      `${draft.id} is not the leader: ${where}`,
      draft.leader,
    );
  }
  if (draft.transfer !== null) {
    return answer(
      output,
      request.requestId,
      `a leadership transfer to ${draft.transfer.target} is under way`,
      null,
    );
  }
  switch (request.kind) {
    case "propose":
      return proposeCommand(draft, output, request.requestId, request.command);
    case "add-learner":
      return proposeMembership(
        draft,
        output,
        request.requestId,
        addLearner(draft.membership, request.node),
      );
    case "remove-member":
      if (request.node === draft.id) {
        return answer(
          output,
          request.requestId,
          `${draft.id} leads; move leadership first (hactl switchover)`,
          null,
        );
      }
      return proposeMembership(
        draft,
        output,
        request.requestId,
        removeMember(draft.membership, request.node),
      );
    case "transfer":
      return startTransfer(draft, output, request.requestId, request.target);
  }
}

/** Why a command may not be proposed, or null. */
function commandRefusal(draft: Draft, command: Command): string | null {
  if (command.kind === "membership") {
    return "membership changes go through add-learner and remove-member";
  }
  if (command.kind === "kv") {
    // The same checks as the API and the wire codec: an accepted entry can always be sent.
    const keyProblem = keyValueKeyProblem(command.key);
    if (keyProblem !== null) return `key: ${keyProblem}`;
    const valueProblem = keyValueValueProblem(command.value);
    if (valueProblem !== null) return `value: ${valueProblem}`;
    const isNewKey = !(command.key in draft.applied.keyValues);
    if (
      isNewKey && Object.keys(draft.applied.keyValues).length >= draft.config.maxKeyValueEntries
    ) {
      return `the key-value map is full (${draft.config.maxKeyValueEntries} keys); delete keys first`;
    }
  }
  if (
    command.kind === "switchover" && command.target !== null &&
    !isVoter(draft.membership, command.target)
  ) {
    return `${command.target} is not a voter`;
  }
  return null;
}

/** Appends a command as a new entry and replicates it; answered at commit. */
export function proposeCommand(
  draft: Draft,
  output: Output,
  requestId: string | null,
  command: Command,
): void {
  const refusal = commandRefusal(draft, command);
  if (refusal !== null) {
    if (requestId !== null) answer(output, requestId, refusal, null);
    return;
  }
  appendProposal(draft, output, requestId, command);
}

function appendProposal(
  draft: Draft,
  output: Output,
  requestId: string | null,
  command: Command,
): void {
  const index = lastIndex(draft) + 1;
  appendEntries(draft, output, [{ term: draft.term, index, command }]);
  if (requestId !== null) {
    draft.pending = [...draft.pending, { requestId, index, term: draft.term }];
  }
  syncProgressWithMembership(draft);
  broadcastAppend(draft, output);
}

/** Why no membership change may start now, or null. One change at a time, safely ordered. */
export function membershipChangeBlocker(draft: Draft): string | null {
  if (!ownTermCommitted(draft)) {
    return "the new leader has not yet committed an entry of its term; retry shortly";
  }
  if (draft.membershipIndex > draft.commitIndex) {
    return "a previous membership change is not yet committed";
  }
  const postgres = draft.postgres;
  if (
    draft.applied.syncMode === "quorum" && postgres?.status === "running" && !postgres.inRecovery
  ) {
    // The synchronous set must follow the membership in force before the next change, so
    // that the sync quorum and the Raft quorum never drift more than one change apart.
    const expected = synchronousStandbyNames(draft);
    if (postgres.synchronousStandbyNames !== expected) {
      return `synchronous_standby_names is not yet ${JSON.stringify(expected)} on the primary`;
    }
  }
  return null;
}

function proposeMembership(
  draft: Draft,
  output: Output,
  requestId: string | null,
  change: MembershipChange,
): void {
  if (!change.ok) {
    if (requestId !== null) answer(output, requestId, change.error, null);
    return;
  }
  const blocker = membershipChangeBlocker(draft);
  if (blocker !== null) {
    if (requestId !== null) answer(output, requestId, blocker, null);
    return;
  }
  appendProposal(draft, output, requestId, { kind: "membership", membership: change.membership });
}

/** Promotes the first caught-up learner to voter (Raft log caught up, Postgres close enough). */
export function promoteCaughtUpLearner(draft: Draft, output: Output): void {
  if (
    draft.role !== "leader" || draft.transfer !== null || membershipChangeBlocker(draft) !== null
  ) return;
  const own = draft.postgres?.position;
  if (!own) return;
  for (const learner of draft.membership.learners) {
    const progress = draft.progress[learner];
    if (!progress || progress.matchIndex < lastIndex(draft) || progress.position === null) continue;
    const lag = lagBytes(progress.position, own);
    if (lag === null || lag > draft.config.learnerCatchUpBytes) continue;
    proposeMembership(draft, output, null, promoteLearner(draft.membership, learner));
    return;
  }
}

/** The voter best placed to take over: most advanced Postgres, then failover priority, then Raft log. */
export function bestTransferTarget(draft: Draft): NodeId | null {
  let best: NodeId | null = null;
  for (const voter of draft.membership.voters) {
    if (voter === draft.id || failoverTagBlocker(draft.applied, voter) !== null) continue;
    const candidate = draft.progress[voter];
    if (!candidate?.position) continue;
    const current = best === null ? null : draft.progress[best];
    if (!current?.position) {
      best = voter;
      continue;
    }
    // Only a position that holds all of the current best's WAL is better; a diverged one
    // never replaces it (it could not take over without a rewind).
    const relation = relateWalPositions(current.position, candidate.position);
    if (relation === "behind" || (relation === "equal" && ranksAbove(draft, voter, best!))) {
      best = voter;
    }
  }
  return best;
}

/** Between equally placed voters: higher failover priority, then the longer Raft log. */
function ranksAbove(draft: Draft, voter: NodeId, other: NodeId): boolean {
  const priority = failoverPriority(draft.applied, voter);
  const otherPriority = failoverPriority(draft.applied, other);
  if (priority !== otherPriority) return priority > otherPriority;
  return draft.progress[voter]!.matchIndex > draft.progress[other]!.matchIndex;
}

function startTransfer(
  draft: Draft,
  output: Output,
  requestId: string,
  target: NodeId | null,
): void {
  const chosen = target ?? bestTransferTarget(draft);
  if (chosen === null) return answer(output, requestId, "no voter is ready to take over", null);
  if (chosen === draft.id) return answer(output, requestId, `${draft.id} already leads`, draft.id);
  if (!isVoter(draft.membership, chosen)) {
    return answer(output, requestId, `${chosen} is not a voter`, null);
  }
  const tagged = failoverTagBlocker(draft.applied, chosen);
  if (tagged !== null) return answer(output, requestId, `${chosen} may not lead: ${tagged}`, null);
  beginTransfer(draft, output, chosen, requestId);
}

/**
 * Starts a transfer to `target` (a voter allowed to lead); `requestId` null when the core
 * started it itself (primary_watch.ts). Write authority ends now: the primary is fenced
 * before the target catches up, so nothing acknowledged can be missing on it (planned
 * switchover loses nothing).
 */
export function beginTransfer(
  draft: Draft,
  output: Output,
  target: NodeId,
  requestId: string | null,
): void {
  draft.transfer = {
    target,
    requestId,
    elapsedTicks: 0,
    timeoutNowSent: false,
    readSinceStart: false,
  };
  sendAppend(draft, output, target);
}

/**
 * Notes, for a transfer in progress, whether the Postgres read just taken began after the
 * transfer started (`readTicksAgo` ticks ago, against the ticks the transfer has run).
 */
export function noteTransferRead(draft: Draft, readTicksAgo: number): void {
  const transfer = draft.transfer;
  if (transfer === null) return;
  // Ticks are whole: a read begun in the tick the transfer started counts (the shell
  // serializes reads with its actions, so such a read saw no restart after it began).
  draft.transfer = { ...transfer, readSinceStart: readTicksAgo <= transfer.elapsedTicks };
}

/** Sends TimeoutNow once the target has every entry and all WAL of the fenced primary. */
export function progressTransfer(draft: Draft, output: Output): void {
  const transfer = draft.transfer;
  if (draft.role !== "leader" || transfer === null || transfer.timeoutNowSent) return;
  const target = draft.progress[transfer.target];
  const own = draft.postgres;
  if (!target || target.matchIndex < lastIndex(draft)) return;
  // A primary is stopped for the transfer (PostgresRole `fenced` with `shutDown`): wait for
  // the read of the stopped server, whose position holds its shutdown checkpoint. Sent on
  // the fenced but running server's position, the target could promote before that record
  // arrives, leaving the old primary one record past the fork point: a rewind after every
  // such switchover, and a failed rewind (the target not yet promoted) left it diverged
  // and unable to elect with the third node (found by the scheduled-switchover test).
  if (own?.status === "running" && !own.inRecovery) return;
  // ...on a read begun after the transfer started: an older read of a stopped server may
  // predate its restart (found by the model's random walks under lagging observations).
  if (!transfer.readSinceStart) return;
  if (own?.position && !holdsAllOf(target.position, own.position)) return;
  draft.transfer = { ...transfer, timeoutNowSent: true };
  draft.leaseRemainingTicks = 0;
  send(output, { kind: "timeout-now", from: draft.id, to: transfer.target, term: draft.term });
}

/** True when `position` holds every WAL byte of `reference` (reference equal or behind it). */
function holdsAllOf(position: WalPosition | null, reference: WalPosition): boolean {
  if (position === null) return false;
  const relation = relateWalPositions(reference, position);
  return relation === "equal" || relation === "behind";
}
