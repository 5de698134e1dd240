/**
 * fast-check generators of valid peer messages (every kind, every command), within the codec's
 * limits and with the structure a correct leader produces (contiguous entries, bounded terms).
 *
 * @module
 */
import fc from "fast-check";
import type {
  ClusterState,
  Command,
  LogEntry,
  Membership,
  Message,
  NodeId,
  Snapshot,
  WalPosition,
} from "../../src/core/types.ts";
import {
  MAX_HISTORY_LINES,
  MAX_LOG_INDEX,
  MAX_ROUND,
  MAX_TERM,
  MAX_TIMELINE,
} from "../../src/transport/message_codec.ts";

const FAMILIAR_IDS = ["node1", "node2", "node3", "pg-east_1", "a", "Z".repeat(63)];

/** Node ids: a few familiar ones and arbitrary ones of the allowed shape. */
export const nodeIdArbitrary: fc.Arbitrary<NodeId> = fc.oneof(
  fc.constantFrom(...FAMILIAR_IDS),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/),
);

// Up to the named bounds (the codec refuses anything above them), the bounds themselves included.
const termArbitrary = fc.oneof(
  fc.nat({ max: 20 }),
  fc.nat({ max: MAX_TERM }),
  fc.constant(MAX_TERM),
);
const indexArbitrary = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.nat({ max: Math.min(MAX_LOG_INDEX, MAX_ROUND) - 1000 }),
);

const lsnArbitrary = fc.oneof(fc.nat({ max: 1 << 30 }), fc.maxSafeNat());

/**
 * WAL positions, including the extremes of every field: a history of up to
 * MAX_HISTORY_LINES ancestors (timelines rising below the position's, end LSNs in order).
 */
export const positionArbitrary: fc.Arbitrary<WalPosition> = fc.record({
  timeline: fc.oneof(fc.nat({ max: 10 }), fc.constant(MAX_TIMELINE)),
  lsn: lsnArbitrary,
  timelines: fc.uniqueArray(fc.oneof(fc.nat({ max: 10 }), fc.nat({ max: MAX_TIMELINE })), {
    maxLength: MAX_HISTORY_LINES,
  }),
  ends: fc.array(lsnArbitrary, { minLength: MAX_HISTORY_LINES, maxLength: MAX_HISTORY_LINES }),
}).map(({ timeline, lsn, timelines, ends }) => {
  const ancestors = timelines.filter((ancestor) => ancestor < timeline).sort((a, b) => a - b);
  const endLsns = ends.slice(0, ancestors.length).sort((a, b) => a - b);
  return {
    timeline,
    lsn,
    history: ancestors.map((ancestor, index) => ({ timeline: ancestor, endLsn: endLsns[index]! })),
  };
});

const optionalPositionArbitrary: fc.Arbitrary<WalPosition | null> = fc.option(positionArbitrary, {
  nil: null,
});

/** Memberships with distinct voters and learners that never overlap. */
export const membershipArbitrary: fc.Arbitrary<Membership> = fc
  .tuple(fc.uniqueArray(nodeIdArbitrary, { maxLength: 7 }), fc.nat({ max: 7 }))
  .map(([ids, split]) => ({ voters: ids.slice(0, split), learners: ids.slice(split) }));

const keyArbitrary = fc
  .stringMatching(/^[\x21-\x7e]{1,128}$/)
  .filter((key) => key !== "__proto__");
// Arbitrary UTF-16, lone surrogates included: JSON must carry them intact.
const valueArbitrary = fc.string({ unit: "binary", maxLength: 64 });

/** Every command kind. */
export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.constant({ kind: "noop" as const }),
  membershipArbitrary.map((membership) => ({ kind: "membership" as const, membership })),
  fc.record({
    kind: fc.constant("kv" as const),
    key: keyArbitrary,
    value: fc.option(valueArbitrary),
  }),
  fc.boolean().map((paused) => ({ kind: "pause" as const, paused })),
  fc.constantFrom("quorum" as const, "asynchronous" as const).map((mode) => ({
    kind: "sync-mode" as const,
    mode,
  })),
  fc.option(nodeIdArbitrary).map((target) => ({ kind: "switchover" as const, target })),
);

const clusterStateArbitrary: fc.Arbitrary<ClusterState> = fc.record({
  membership: membershipArbitrary,
  paused: fc.boolean(),
  syncMode: fc.constantFrom("quorum" as const, "asynchronous" as const),
  switchoverTarget: fc.option(nodeIdArbitrary),
  keyValues: fc
    .array(fc.tuple(keyArbitrary, valueArbitrary), { maxLength: 8 })
    .map((pairs) => Object.fromEntries(pairs)),
});

const headerArbitrary = fc
  .record({ from: nodeIdArbitrary, to: nodeIdArbitrary, term: termArbitrary })
  .filter((header) => header.from !== header.to);

/** Log entries after (prevLogIndex, prevLogTerm) with terms from prevLogTerm to `term`. */
function entriesArbitrary(
  prevLogIndex: number,
  prevLogTerm: number,
  term: number,
): fc.Arbitrary<LogEntry[]> {
  return fc
    .array(fc.tuple(fc.nat({ max: term - prevLogTerm }), commandArbitrary), { maxLength: 6 })
    .map((drafts) => {
      const increments = drafts.map(([increment]) => increment).sort((a, b) => a - b);
      return drafts.map(([, command], position) => ({
        term: prevLogTerm + increments[position]!,
        index: prevLogIndex + 1 + position,
        command,
      }));
    });
}

const appendArbitrary: fc.Arbitrary<Message> = headerArbitrary.chain((header) =>
  fc
    .record({
      prevLogIndex: fc.nat({ max: 1_000_000 }),
      prevLogTerm: fc.nat({ max: Math.min(header.term, 1_000_000) }),
    })
    .chain(({ prevLogIndex, prevLogTerm }) =>
      fc.record({
        kind: fc.constant("append" as const),
        from: fc.constant(header.from),
        to: fc.constant(header.to),
        term: fc.constant(header.term),
        prevLogIndex: fc.constant(prevLogIndex),
        prevLogTerm: fc.constant(prevLogTerm),
        entries: entriesArbitrary(prevLogIndex, prevLogTerm, header.term),
        commitIndex: indexArbitrary,
        round: indexArbitrary,
        leaderPosition: optionalPositionArbitrary,
      })
    )
);

function voteArbitrary(kind: "pre-vote" | "vote"): fc.Arbitrary<Message> {
  return headerArbitrary.chain((header) =>
    fc
      .record({
        lastLogIndex: indexArbitrary,
        lastLogTerm: fc.nat({ max: header.term }),
        position: positionArbitrary,
        transfer: fc.boolean(),
      })
      .map(({ transfer, ...rest }) =>
        kind === "vote" ? { kind, ...header, ...rest, transfer } : { kind, ...header, ...rest }
      )
  );
}

const snapshotRequestArbitrary: fc.Arbitrary<Message> = headerArbitrary.chain((header) =>
  fc
    .record({
      snapshot: fc.record<Snapshot>({
        lastIndex: indexArbitrary,
        lastTerm: fc.nat({ max: header.term }),
        state: clusterStateArbitrary,
      }),
      round: indexArbitrary,
      leaderPosition: optionalPositionArbitrary,
    })
    .map((body) => ({ kind: "snapshot" as const, ...header, ...body }))
);

/** Every message kind, valid by construction. */
export const messageArbitrary: fc.Arbitrary<Message> = fc.oneof(
  voteArbitrary("pre-vote"),
  voteArbitrary("vote"),
  headerArbitrary.chain((header) =>
    fc
      .record({
        preVote: fc.boolean(),
        granted: fc.boolean(),
        reason: fc.string({ maxLength: 80 }),
      })
      .map((body) => ({ kind: "vote-response" as const, ...header, ...body }))
  ),
  appendArbitrary,
  headerArbitrary.chain((header) =>
    fc
      .record({
        success: fc.boolean(),
        matchIndex: indexArbitrary,
        round: indexArbitrary,
        position: optionalPositionArbitrary,
      })
      .map((body) => ({ kind: "append-response" as const, ...header, ...body }))
  ),
  snapshotRequestArbitrary,
  headerArbitrary.map((header) => ({ kind: "timeout-now" as const, ...header })),
);
