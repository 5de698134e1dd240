/**
 * The JSON layout of the Raft state files and its checked decoding.
 *
 * `raft_state` holds the hard state, the log entries and a reference to the snapshot file
 * (`raft_snapshot.<sequence>`), so that replacing `raft_state` alone switches atomically
 * from one complete state to the next.
 *
 * @module
 */

import type {
  ClusterState,
  Command,
  HardState,
  LogEntry,
  Membership,
  PersistentState,
  Snapshot,
  SyncMode,
} from "../core/types.ts";
import {
  expectArray,
  expectBoolean,
  expectLiteral,
  expectNaturalNumber,
  expectRecord,
  expectString,
  expectStringOrNull,
  ShapeError,
} from "./json_shape.ts";

const RAFT_STATE_FORMAT = "hactl-raft-state-v1";
const SNAPSHOT_FORMAT = "hactl-raft-snapshot-v1";

/** Which snapshot file `raft_state` depends on, and what that file must contain. */
export interface SnapshotReference {
  /** Numbers the snapshot files; a new snapshot never overwrites the referenced one. */
  readonly sequence: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/** The decoded contents of `raft_state`. */
export interface StoredRaftState {
  readonly hardState: HardState;
  readonly snapshot: SnapshotReference | null;
  readonly entries: readonly LogEntry[];
}

/** The JSON value of `raft_state` for `state`, whose snapshot lives in file `sequence`. */
export function encodeRaftState(state: PersistentState, sequence: number): unknown {
  const snapshot = state.snapshot === null
    ? null
    : { sequence, lastIndex: state.snapshot.lastIndex, lastTerm: state.snapshot.lastTerm };
  return {
    format: RAFT_STATE_FORMAT,
    hardState: state.hardState,
    snapshot,
    entries: state.entries,
  };
}

/** Decodes `raft_state`; throws {@link ShapeError} naming the wrong field. */
export function decodeRaftState(value: unknown): StoredRaftState {
  const record = expectRecord(value, "raft state");
  expectLiteral(record.format, RAFT_STATE_FORMAT, "format");
  const hard = expectRecord(record.hardState, "hardState");
  const hardState: HardState = {
    term: expectNaturalNumber(hard.term, "hardState.term"),
    votedFor: expectStringOrNull(hard.votedFor, "hardState.votedFor"),
    commitIndex: expectNaturalNumber(hard.commitIndex, "hardState.commitIndex"),
  };
  let snapshot: SnapshotReference | null = null;
  if (record.snapshot !== null) {
    const reference = expectRecord(record.snapshot, "snapshot");
    snapshot = {
      sequence: expectNaturalNumber(reference.sequence, "snapshot.sequence"),
      lastIndex: expectNaturalNumber(reference.lastIndex, "snapshot.lastIndex"),
      lastTerm: expectNaturalNumber(reference.lastTerm, "snapshot.lastTerm"),
    };
  }
  const entries = expectArray(record.entries, "entries")
    .map((entry, position) => decodeLogEntry(entry, `entries[${position}]`));
  return { hardState, snapshot, entries };
}

/** The JSON value of a snapshot file. */
export function encodeSnapshot(snapshot: Snapshot): unknown {
  return { format: SNAPSHOT_FORMAT, snapshot };
}

/** Decodes a snapshot file; throws {@link ShapeError} naming the wrong field. */
export function decodeSnapshot(value: unknown): Snapshot {
  const record = expectRecord(value, "snapshot file");
  expectLiteral(record.format, SNAPSHOT_FORMAT, "format");
  const snapshot = expectRecord(record.snapshot, "snapshot");
  return {
    lastIndex: expectNaturalNumber(snapshot.lastIndex, "snapshot.lastIndex"),
    lastTerm: expectNaturalNumber(snapshot.lastTerm, "snapshot.lastTerm"),
    state: decodeClusterState(snapshot.state, "snapshot.state"),
  };
}

function decodeLogEntry(value: unknown, field: string): LogEntry {
  const entry = expectRecord(value, field);
  return {
    term: expectNaturalNumber(entry.term, `${field}.term`),
    index: expectNaturalNumber(entry.index, `${field}.index`),
    command: decodeCommand(entry.command, `${field}.command`),
  };
}

/**
 * One decoder per command kind. Typed as a record over every kind, so that a kind added to
 * `Command` in the core fails to compile here until it can be decoded.
 */
const COMMAND_DECODERS: {
  readonly [Kind in Command["kind"]]: (
    command: Record<string, unknown>,
    field: string,
  ) => Extract<Command, { kind: Kind }>;
} = {
  noop: () => ({ kind: "noop" }),
  membership: (command, field) => ({
    kind: "membership",
    membership: decodeMembership(command.membership, field),
  }),
  kv: (command, field) => ({
    kind: "kv",
    key: expectString(command.key, `${field}.key`),
    value: expectStringOrNull(command.value, `${field}.value`),
  }),
  pause: (command, field) => ({
    kind: "pause",
    paused: expectBoolean(command.paused, `${field}.paused`),
  }),
  "sync-mode": (command, field) => ({
    kind: "sync-mode",
    mode: decodeSyncMode(command.mode, `${field}.mode`),
  }),
  switchover: (command, field) => ({
    kind: "switchover",
    target: expectStringOrNull(command.target, `${field}.target`),
  }),
};

/** Every sync mode, as a record so that the compiler notices a mode added or renamed. */
const SYNC_MODES: { readonly [Mode in SyncMode]: true } = { quorum: true, asynchronous: true };

function decodeCommand(value: unknown, field: string): Command {
  const command = expectRecord(value, field);
  const kind = command.kind;
  if (typeof kind !== "string" || !Object.hasOwn(COMMAND_DECODERS, kind)) {
    throw new ShapeError(`${field}.kind`, "a known command kind", kind);
  }
  return COMMAND_DECODERS[kind as Command["kind"]](command, field);
}

function decodeClusterState(value: unknown, field: string): ClusterState {
  const state = expectRecord(value, field);
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  const keyValues = Object.fromEntries(
    Object.entries(expectRecord(state.keyValues, `${field}.keyValues`))
      .map(([key, text]) => [key, expectString(text, `${field}.keyValues.${key}`)]),
  );
  return {
    membership: decodeMembership(state.membership, field),
    paused: expectBoolean(state.paused, `${field}.paused`),
    syncMode: decodeSyncMode(state.syncMode, `${field}.syncMode`),
    switchoverTarget: expectStringOrNull(state.switchoverTarget, `${field}.switchoverTarget`),
    keyValues,
  };
}

function decodeMembership(value: unknown, parent: string): Membership {
  const field = `${parent}.membership`;
  const membership = expectRecord(value, field);
  const decodeIds = (ids: unknown, name: string) =>
    expectArray(ids, `${field}.${name}`).map((id, i) => expectString(id, `${field}.${name}[${i}]`));
  return {
    voters: decodeIds(membership.voters, "voters"),
    learners: decodeIds(membership.learners, "learners"),
  };
}

function decodeSyncMode(value: unknown, field: string): SyncMode {
  if (typeof value === "string" && Object.hasOwn(SYNC_MODES, value)) return value as SyncMode;
  throw new ShapeError(field, `one of ${Object.keys(SYNC_MODES).join(", ")}`, value);
}
