/**
 * The core's single entry point: one input in, the new state and its effects out.
 * Term handling comes first, then one handler per role and message kind.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { Draft, Output } from "./draft.ts";
import { appendEntries, beginStep } from "./draft.ts";
import {
  becomeCandidate,
  becomeFollower,
  becomeLeader,
  syncProgressWithMembership,
} from "./roles.ts";
import { handleVoteRequest, handleVoteResponse } from "./election.ts";
import { broadcastAppend, handleAppendResponse } from "./replication.ts";
import { handleAppend, handleSnapshot, handleTimeoutNow } from "./follower.ts";
import {
  handleAdmin,
  noteTransferRead,
  progressTransfer,
  promoteCaughtUpLearner,
} from "./leader_admin.ts";
import { handleTick } from "./tick.ts";
import { recordObservation } from "./freshness.ts";
import { notePrimaryObservation } from "./primary_watch.ts";
import { confirmQuorumSwitch, trackQuorumSwitch } from "./quorum_switch.ts";
import { synchronousStandbyNames } from "./postgres_role.ts";
import { advanceLeaderCommit } from "./commit.ts";
import { isInitialised } from "./raft_log.ts";
import { MAX_TERM } from "./bounds.ts";
import type { Input, Message, NodeState, PersistRequest, StepResult } from "./types.ts";

/** Applies one input to a node. Pure: the input state is not modified. */
export function step(state: NodeState, input: Input): StepResult {
  const { draft, output } = beginStep(state);
  switch (input.kind) {
    case "tick":
      handleTick(draft, output, input.jitterTicks);
      break;
    case "message":
      handleMessage(draft, output, input.message);
      break;
    case "postgres":
      recordObservation(draft, input.observation, input.readTicksAgo);
      notePrimaryObservation(draft);
      noteTransferRead(draft, input.readTicksAgo);
      noteQuorumSwitchRead(draft, output, input.readTicksAgo);
      promoteCaughtUpLearner(draft, output);
      break;
    case "admin":
      handleAdmin(draft, output, input.request);
      break;
    case "bootstrap":
      bootstrap(draft, output);
      break;
  }
  syncProgressWithMembership(draft);
  // Any input may complete a transfer's preconditions (target caught up, primary fenced).
  progressTransfer(draft, output);
  trackQuorumSwitch(draft);
  return finishStep(state, draft, output);
}

/** A read may confirm a pending return to quorum mode, and so let its entry commit. */
function noteQuorumSwitchRead(draft: Draft, output: Output, readTicksAgo: number): void {
  if (draft.quorumSwitch === null || draft.quorumSwitch.confirmed) return;
  confirmQuorumSwitch(draft, synchronousStandbyNames(draft), readTicksAgo);
  if (draft.quorumSwitch.confirmed && draft.role === "leader") advanceLeaderCommit(draft, output);
}

/** Creates a single-voter cluster on a node that belongs to none. */
function bootstrap(draft: Draft, output: Output): void {
  if (isInitialised(draft) || draft.term !== 0) {
    output.effects.push({
      kind: "warning",
      text: `${draft.id} already belongs to a cluster; bootstrap ignored`,
    });
    return;
  }
  becomeCandidate(draft, output, false);
  appendEntries(draft, output, [{
    term: draft.term,
    index: 1,
    command: { kind: "membership", membership: { voters: [draft.id], learners: [] } },
  }]);
  becomeLeader(draft, output);
  broadcastAppend(draft, output);
}

/** Term handling for every message, then dispatch by kind. */
function handleMessage(draft: Draft, output: Output, message: Message): void {
  if (message.to !== draft.id) {
    output.effects.push({
      kind: "warning",
      text: `ignored ${message.kind} for ${message.to} from ${message.from}`,
    });
    return;
  }
  if (message.from === draft.id) return;
  const contradiction = contradictsState(draft, message);
  if (contradiction !== null) {
    // A peer (buggy, or holding the secret) must not be able to stop this node: refuse, warn.
    output.effects.push({
      kind: "warning",
      text: `refused ${message.kind} from ${message.from}: ${contradiction}`,
    });
    return;
  }
  if (!acceptTerm(draft, output, message)) return;
  switch (message.kind) {
    case "pre-vote":
    case "vote":
      return handleVoteRequest(draft, output, message);
    case "vote-response":
      return handleVoteResponse(draft, output, message);
    case "append":
      return handleAppend(draft, output, message);
    case "snapshot":
      return handleSnapshot(draft, output, message);
    case "append-response":
      if (draft.role === "leader") handleAppendResponse(draft, output, message);
      return;
    case "timeout-now":
      return handleTimeoutNow(draft, output, message);
  }
}

/**
 * Why a peer message cannot be true given this node's state, or null. Such a message comes
 * from a bug or from someone holding the cluster secret; it is refused, never asserted on.
 */
function contradictsState(draft: Draft, message: Message): string | null {
  if (message.term > MAX_TERM) return `term ${message.term} is above the bound ${MAX_TERM}`;
  const claimsLeadership = message.kind === "append" || message.kind === "snapshot";
  if (!claimsLeadership || message.term !== draft.term || draft.leader === null) return null;
  if (draft.leader !== message.from) {
    return `it claims leadership of term ${draft.term}, whose leader is ${draft.leader} (two leaders)`;
  }
  return null;
}

/**
 * Raft's term rules. Returns false when the message is done with (stale, or answered here).
 * Pre-votes never change terms; a vote request inside a live leader's lease is refused
 * without adopting its term, so a partitioned node cannot disrupt a healthy leader.
 */
function acceptTerm(draft: Draft, output: Output, message: Message): boolean {
  if (message.term > draft.term) {
    if (message.kind === "pre-vote") return true;
    if (message.kind === "vote-response" && message.preVote && message.granted) return true;
    if (message.kind === "vote") {
      const inLease = draft.ticksSinceLeaderContact < draft.config.electionTimeoutTicks;
      if (inLease && !message.transfer && !draft.config.faults.skipLeaseWait) {
        handleVoteRequest(draft, output, message);
        return false;
      }
    }
    const fromLeader = message.kind === "append" || message.kind === "snapshot" ||
      message.kind === "timeout-now";
    becomeFollower(draft, output, message.term, fromLeader ? message.from : null);
    return true;
  }
  if (message.term < draft.term) {
    if (message.kind === "append" || message.kind === "snapshot") {
      // Tell a stale leader about the newer term so that it steps down.
      output.messages.push({
        kind: "append-response",
        from: draft.id,
        to: message.from,
        term: draft.term,
        success: false,
        matchIndex: 0,
        round: 0,
        position: draft.postgres?.position ?? null,
      });
    } else if (message.kind === "pre-vote" || message.kind === "vote") {
      handleVoteRequest(draft, output, message);
    }
    return false;
  }
  if ((message.kind === "append" || message.kind === "snapshot") && draft.role !== "follower") {
    assert(draft.role !== "leader", "a leader's own term was refused by contradictsState");
    becomeFollower(draft, output, draft.term, message.from);
  }
  return true;
}

/** Builds the step result: what to persist (before sending), messages, effects. */
function finishStep(before: NodeState, draft: Draft, output: Output): StepResult {
  const hardStateChanged = draft.term !== before.term || draft.votedFor !== before.votedFor;
  assert(draft.term >= before.term, "term went backwards");
  assert(draft.commitIndex >= before.commitIndex, "commit index went backwards");
  const persist: PersistRequest | null =
    hardStateChanged || output.append.length > 0 || output.truncateFrom !== null ||
      output.snapshot !== null
      ? {
        hardState: hardStateChanged
          ? { term: draft.term, votedFor: draft.votedFor, commitIndex: draft.commitIndex }
          : null,
        truncateFrom: output.truncateFrom,
        append: output.append,
        snapshot: output.snapshot,
      }
      : null;
  return { state: draft, persist, messages: output.messages, effects: output.effects };
}
