/**
 * Follower side of replication: appends, snapshots, and TimeoutNow.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { Draft, Output } from "./draft.ts";
import { appendEntries, refreshMembership, send, truncateLog } from "./draft.ts";
import { becomeFollower } from "./roles.ts";
import { setCommitIndex } from "./commit.ts";
import { campaign } from "./election.ts";
import { lastIndex, termAt } from "./raft_log.ts";
import type { AppendRequest, LogEntry, SnapshotRequest, TimeoutNowRequest } from "./types.ts";

/** Records contact with the live leader of the current term. */
function heardFromLeader(
  draft: Draft,
  output: Output,
  leader: string,
  position: AppendRequest["leaderPosition"],
): void {
  if (draft.role !== "follower" || draft.leader !== leader) {
    becomeFollower(draft, output, draft.term, leader);
  }
  draft.ticksSinceLeaderContact = 0;
  draft.electionElapsedTicks = 0;
  if (position !== null) draft.leaderPosition = position;
}

/** Why the entries of an append request are malformed, or null when they are well formed. */
function malformedEntries(request: AppendRequest): string | null {
  let expected = request.prevLogIndex + 1;
  let previousTerm = request.prevLogTerm;
  for (const entry of request.entries) {
    if (entry.index !== expected) {
      return `entry index ${entry.index} where ${expected} was expected`;
    }
    if (entry.term < previousTerm || entry.term > request.term) {
      return `entry ${entry.index} has term ${entry.term}`;
    }
    previousTerm = entry.term;
    expected++;
  }
  return null;
}

/** AppendEntries from the leader of our term. */
export function handleAppend(draft: Draft, output: Output, request: AppendRequest): void {
  assert(request.term === draft.term, "handleAppend after term handling");
  const malformed = malformedEntries(request);
  if (malformed !== null) {
    output.effects.push({
      kind: "warning",
      text: `ignored append from ${request.from}: ${malformed}`,
    });
    return;
  }
  heardFromLeader(draft, output, request.from, request.leaderPosition);
  const respond = (success: boolean, matchIndex: number) =>
    send(output, {
      kind: "append-response",
      from: draft.id,
      to: request.from,
      term: draft.term,
      success,
      matchIndex,
      round: request.round,
      position: draft.postgres?.position ?? null,
    });
  if (request.prevLogIndex > lastIndex(draft)) return respond(false, lastIndex(draft));
  const snapshotIndex = draft.snapshot?.lastIndex ?? 0;
  // Entries at or below the snapshot are committed, hence identical to the leader's.
  const entries = request.entries.filter((entry) => entry.index > snapshotIndex);
  if (
    request.prevLogIndex >= snapshotIndex &&
    termAt(draft, request.prevLogIndex) !== request.prevLogTerm &&
    !draft.config.faults.appendSkipsPrevLogCheck
  ) {
    // Entries up to our commit index match the leader's: retry from just after it.
    return respond(false, Math.min(request.prevLogIndex - 1, draft.commitIndex));
  }
  const conflict = committedConflict(draft, entries);
  if (conflict !== null) {
    // Leader completeness makes this impossible for a correct leader: refuse, do not assert.
    output.effects.push({
      kind: "warning",
      text: `refused append from ${request.from}: it contradicts committed entry ${conflict}`,
    });
    return;
  }
  mergeEntries(draft, output, entries);
  const lastNew = request.prevLogIndex + request.entries.length;
  setCommitIndex(draft, output, Math.min(request.commitIndex, lastNew));
  respond(true, Math.max(lastNew, snapshotIndex));
}

/** The first committed index whose term `entries` contradict, or null. */
function committedConflict(draft: Draft, entries: readonly LogEntry[]): number | null {
  for (const entry of entries) {
    if (entry.index > draft.commitIndex) return null;
    const ownTerm = termAt(draft, entry.index);
    if (ownTerm !== null && ownTerm !== entry.term) return entry.index;
  }
  return null;
}

/** Appends new entries, truncating our conflicting suffix first (never a committed entry). */
function mergeEntries(draft: Draft, output: Output, entries: readonly LogEntry[]): void {
  let firstNew = entries.length;
  for (let position = 0; position < entries.length; position++) {
    const entry = entries[position]!;
    const ownTerm = termAt(draft, entry.index);
    if (ownTerm === entry.term) continue;
    if (ownTerm !== null) {
      assert(entry.index > draft.commitIndex, `conflict at committed index ${entry.index}`);
      truncateLog(draft, output, entry.index);
    }
    firstNew = position;
    break;
  }
  appendEntries(draft, output, entries.slice(firstNew));
}

/** InstallSnapshot: replaces the state machine when the leader compacted what we lack. */
export function handleSnapshot(draft: Draft, output: Output, request: SnapshotRequest): void {
  heardFromLeader(draft, output, request.from, request.leaderPosition);
  const snapshot = request.snapshot;
  const respond = (matchIndex: number) =>
    send(output, {
      kind: "append-response",
      from: draft.id,
      to: request.from,
      term: draft.term,
      success: true,
      matchIndex,
      round: request.round,
      position: draft.postgres?.position ?? null,
    });
  if (snapshot.lastIndex <= draft.commitIndex) return respond(draft.commitIndex);
  if (termAt(draft, snapshot.lastIndex) === snapshot.lastTerm) {
    draft.log = draft.log.filter((entry) => entry.index > snapshot.lastIndex);
  } else {
    if (draft.log.length > 0) truncateLog(draft, output, draft.log[0]!.index);
    draft.log = [];
  }
  draft.snapshot = snapshot;
  draft.applied = snapshot.state;
  draft.appliedIndex = snapshot.lastIndex;
  draft.commitIndex = snapshot.lastIndex;
  if (draft.bootstrapMembership === null) draft.bootstrapMembership = snapshot.state.membership;
  output.snapshot = snapshot;
  refreshMembership(draft);
  respond(snapshot.lastIndex);
}

/** TimeoutNow from our leader: it hands leadership to us; campaign at once. */
export function handleTimeoutNow(draft: Draft, output: Output, request: TimeoutNowRequest): void {
  // Only the leader of our current term may hand over: a TimeoutNow of an older term was
  // dropped by the term rules, and one of our term from another node is refused here. A late
  // one from our leader is still acted on; its leader stepped down when its transfer timed
  // out (tick.ts), so no lease of that term can be running.
  if (request.term !== draft.term || draft.role !== "follower") {
    output.effects.push({
      kind: "warning",
      text: `ignored timeout-now of term ${request.term} from ${request.from} ` +
        `(${draft.role} in term ${draft.term})`,
    });
    return;
  }
  if (request.from !== draft.leader) {
    output.effects.push({
      kind: "warning",
      text: `ignored timeout-now from ${request.from}, not our leader`,
    });
    return;
  }
  campaign(draft, output, true);
}
