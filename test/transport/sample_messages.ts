/**
 * One hand-written, valid message of every kind, from node1 to node2, for tests.
 *
 * @module
 */
import type { Message } from "../../src/core/types.ts";

// Timeline 3, forked from 2 at 0/2000000, itself forked from 1 at 0/1000000.
const position = {
  timeline: 3,
  lsn: 0x3000060,
  history: [{ timeline: 1, endLsn: 0x1000000 }, { timeline: 2, endLsn: 0x2000000 }],
};
const membership = { voters: ["node1", "node2", "node3"], learners: ["node4"] };

/** A valid append with one entry of every command kind (indexes 11 to 16). */
export const SAMPLE_APPEND: Message = {
  kind: "append",
  from: "node1",
  to: "node2",
  term: 7,
  prevLogIndex: 10,
  prevLogTerm: 5,
  entries: [
    { term: 5, index: 11, command: { kind: "noop" } },
    { term: 6, index: 12, command: { kind: "membership", membership } },
    {
      term: 6,
      index: 13,
      command: { kind: "kv", key: "member/node1/address", value: "10.0.0.1:5432" },
    },
    { term: 7, index: 14, command: { kind: "kv", key: "member/node4/address", value: null } },
    { term: 7, index: 15, command: { kind: "pause", paused: true } },
    { term: 7, index: 16, command: { kind: "sync-mode", mode: "asynchronous" } },
    { term: 7, index: 17, command: { kind: "switchover", target: "node3" } },
    { term: 7, index: 18, command: { kind: "switchover", target: null } },
  ],
  commitIndex: 12,
  round: 41,
  leaderPosition: position,
};

/** One valid message of each of the seven kinds. */
export const SAMPLE_MESSAGES: readonly Message[] = [
  {
    kind: "pre-vote",
    from: "node1",
    to: "node2",
    term: 8,
    lastLogIndex: 18,
    lastLogTerm: 7,
    position,
  },
  {
    kind: "vote",
    from: "node1",
    to: "node2",
    term: 8,
    lastLogIndex: 18,
    lastLogTerm: 7,
    position,
    transfer: true,
  },
  {
    kind: "vote-response",
    from: "node1",
    to: "node2",
    term: 8,
    preVote: false,
    granted: false,
    reason: "candidate WAL position (2, 100) is behind ours (2, 200)",
  },
  SAMPLE_APPEND,
  {
    kind: "append-response",
    from: "node1",
    to: "node2",
    term: 7,
    success: true,
    matchIndex: 18,
    round: 41,
    position: null,
  },
  {
    kind: "snapshot",
    from: "node1",
    to: "node2",
    term: 7,
    snapshot: {
      lastIndex: 18,
      lastTerm: 7,
      state: {
        membership,
        paused: false,
        syncMode: "quorum",
        switchoverTarget: null,
        keyValues: { "member/node1/address": "10.0.0.1:5432", "setting/x": "" },
      },
    },
    round: 42,
    leaderPosition: null,
  },
  { kind: "timeout-now", from: "node1", to: "node2", term: 7 },
];
