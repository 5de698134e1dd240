/**
 * Log replication: the leader's append and snapshot sending, and its handling of answers.
 *
 * @module
 */
import type { Draft, Output } from "./draft.ts";
import { send } from "./draft.ts";
import { entriesBetween, firstIndex, lastIndex, termAt } from "./raft_log.ts";
import { advanceLeaderCommit } from "./commit.ts";
import { openRound, renewLease } from "./lease.ts";
import { peersOf } from "./membership.ts";
import type { AppendResponse, NodeId } from "./types.ts";

/** Opens a heartbeat round and sends every peer what it is missing (or an empty heartbeat). */
export function broadcastAppend(draft: Draft, output: Output): void {
  openRound(draft);
  draft.heartbeatElapsedTicks = 0;
  for (const peer of peersOf(draft.membership, draft.id)) sendAppend(draft, output, peer);
  // A single voter acknowledges its own rounds at once.
  renewLease(draft);
  advanceLeaderCommit(draft, output);
}

/** Sends one peer the entries from its next index, or the snapshot when they were compacted. */
export function sendAppend(draft: Draft, output: Output, peer: NodeId): void {
  const progress = draft.progress[peer];
  if (!progress) return;
  const leaderPosition = draft.postgres?.position ?? null;
  const prevLogIndex = progress.nextIndex - 1;
  const prevLogTerm = termAt(draft, prevLogIndex);
  if (progress.nextIndex < firstIndex(draft) || prevLogTerm === null) {
    if (!draft.snapshot) return;
    send(output, {
      kind: "snapshot",
      from: draft.id,
      to: peer,
      term: draft.term,
      snapshot: draft.snapshot,
      round: draft.round,
      leaderPosition,
    });
    return;
  }
  const last = Math.min(lastIndex(draft), prevLogIndex + draft.config.maxEntriesPerMessage);
  send(output, {
    kind: "append",
    from: draft.id,
    to: peer,
    term: draft.term,
    prevLogIndex,
    prevLogTerm,
    entries: entriesBetween(draft, progress.nextIndex, last),
    commitIndex: draft.commitIndex,
    round: draft.round,
    leaderPosition,
  });
}

/** Leader: a follower answered an append or snapshot. */
export function handleAppendResponse(draft: Draft, output: Output, response: AppendResponse): void {
  const progress = draft.progress[response.from];
  if (!progress || response.term !== draft.term) return;
  if (response.success) {
    const matchIndex = Math.min(
      Math.max(progress.matchIndex, response.matchIndex),
      lastIndex(draft),
    );
    draft.progress = {
      ...draft.progress,
      [response.from]: {
        matchIndex,
        nextIndex: Math.max(progress.nextIndex, matchIndex + 1),
        ackedRound: Math.max(progress.ackedRound, Math.min(response.round, draft.round)),
        position: response.position,
        ticksSinceResponse: 0,
      },
    };
    renewLease(draft);
    advanceLeaderCommit(draft, output);
    if (matchIndex < lastIndex(draft)) sendAppend(draft, output, response.from);
    return;
  }
  // Rejected: step back to the follower's hint and retry at once.
  const nextIndex = Math.max(1, Math.min(progress.nextIndex - 1, response.matchIndex + 1));
  draft.progress = {
    ...draft.progress,
    [response.from]: {
      ...progress,
      nextIndex,
      ackedRound: Math.max(progress.ackedRound, Math.min(response.round, draft.round)),
      position: response.position,
      ticksSinceResponse: 0,
    },
  };
  renewLease(draft);
  sendAppend(draft, output, response.from);
}
