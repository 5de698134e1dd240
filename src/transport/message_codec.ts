/**
 * Validation of untrusted peer payloads into the core's {@link Message} union, and encoding.
 *
 * A peer is authenticated by the frame layer, but a bug, a version skew or a stolen secret must
 * not be able to feed the core a value it does not expect: every field is checked for type,
 * range and length, unknown fields are refused, and the decoded message is a fresh object that
 * holds only the known fields. The limits are at least the core's own (see
 * test/transport/message_codec_test.ts, which compares them), so anything a correct core sends
 * is accepted.
 *
 * @module
 */
import type {
  ClusterState,
  Command,
  LogEntry,
  Membership,
  Message,
  NodeId,
  Snapshot,
  SyncMode,
  TimelineSwitch,
  WalPosition,
} from "../core/types.ts";
import {
  KEY_PATTERN,
  keyValueKeyProblem,
  MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH,
} from "../core/cluster_state.ts";
import { MAX_LOG_INDEX, MAX_ROUND, MAX_TERM } from "../core/bounds.ts";
import { MAX_HISTORY_LINES } from "../core/wal_position.ts";

// The core's bounds and key check are the codec's: one definition, shared by API, core and wire.
export { KEY_PATTERN, MAX_KEY_LENGTH, MAX_LOG_INDEX, MAX_ROUND, MAX_TERM, MAX_VALUE_LENGTH };

/** At most this many log entries in one append message (the core sends at most its `maxEntriesPerMessage`). */
export const MAX_ENTRIES_PER_MESSAGE = 256;
/** At most this many keys in the key-value map of a snapshot. */
export const MAX_KEY_VALUE_ENTRIES = 1024;
/** A vote refusal reason is at most this many characters. */
export const MAX_REASON_LENGTH = 1024;
/** Voters, and separately learners, are at most this many nodes. */
export const MAX_MEMBERS = 64;
/** Postgres timeline ids are unsigned 32-bit integers. */
export const MAX_TIMELINE = 0xffff_ffff;
// At most this many lines in a position's timeline history (why: src/core/wal_position.ts).
export { MAX_HISTORY_LINES };
/** Node ids: letters, digits, `_` and `-`, 1 to 63 characters. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
/**
 * Largest encoded message. The worst case is a snapshot with MAX_KEY_VALUE_ENTRIES keys whose
 * key and value are full length and made of characters JSON escapes as `\uXXXX` (6 bytes):
 * 1024 * (128 + 4096) * 6 bytes is about 26 MB, plus membership and punctuation.
 */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** The outcome of decoding: the message, or an error naming the field path and the wrong value. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly error: string };

/** Thrown inside the decoder only; {@link decodeMessage} turns it into `ok: false`. */
class FieldError extends Error {}

const MESSAGE_KINDS = [
  "pre-vote",
  "vote",
  "vote-response",
  "append",
  "append-response",
  "snapshot",
  "timeout-now",
] as const;
type MessageKind = typeof MESSAGE_KINDS[number];
const HEADER_FIELDS = ["kind", "from", "to", "term"] as const;
const BODY_FIELDS: Readonly<Record<MessageKind, readonly string[]>> = {
  "pre-vote": ["lastLogIndex", "lastLogTerm", "position"],
  "vote": ["lastLogIndex", "lastLogTerm", "position", "transfer"],
  "vote-response": ["preVote", "granted", "reason"],
  "append": ["prevLogIndex", "prevLogTerm", "entries", "commitIndex", "round", "leaderPosition"],
  "append-response": ["success", "matchIndex", "round", "position"],
  "snapshot": ["snapshot", "round", "leaderPosition"],
  "timeout-now": [],
};
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Validates an untrusted, JSON-parsed payload field by field into a {@link Message}.
 * Never throws: every problem comes back as `ok: false` with the field path and the wrong value,
 * e.g. `append.entries[3].term: expected a non-negative integer, got -1`.
 */
export function decodeMessage(json: unknown): DecodeResult {
  try {
    return { ok: true, message: readMessage(json) };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, error: error.message };
    // A value JSON cannot produce (a throwing getter, a revoked proxy) ends up here.
    return { ok: false, error: `message: cannot be read: ${String(error)}` };
  }
}

/** Decodes the UTF-8 JSON bytes of a payload; never throws. */
export function decodeMessageBytes(bytes: Uint8Array): DecodeResult {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      error: `message: ${bytes.length} bytes, over the ${MAX_MESSAGE_BYTES} limit`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(strictDecoder.decode(bytes));
  } catch (error) {
    return { ok: false, error: `message: not UTF-8 JSON: ${String(error)}` };
  }
  return decodeMessage(json);
}

/** Encodes a message as UTF-8 JSON, the payload of a transport frame. */
export function encodeMessage(message: Message): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/**
 * Checks a key of the key-value map against the limits every node enforces; returns what is
 * wrong, or null when the key is acceptable. The API uses it to refuse a proposal up front.
 */
export function checkKeyValueKey(key: string): string | null {
  return keyValueKeyProblem(key);
}

function readMessage(json: unknown): Message {
  const kindValue = isPlainObject(json) ? ownField(json, "kind") : undefined;
  const kind = MESSAGE_KINDS.find((candidate) => candidate === kindValue);
  if (kind === undefined) {
    if (!isPlainObject(json)) fail("message", "an object", json);
    fail("message.kind", `one of ${MESSAGE_KINDS.join(", ")}`, kindValue);
  }
  const record = readRecord(json, kind, [...HEADER_FIELDS, ...BODY_FIELDS[kind]]);
  const from = readNodeId(record.from, `${kind}.from`);
  const to = readNodeId(record.to, `${kind}.to`);
  if (from === to) fail(`${kind}.to`, `a node other than the sender ${from}`, to);
  const header = { from, to, term: readTerm(record.term, `${kind}.term`) };
  return readBody(kind, record, header);
}

function readBody(
  kind: MessageKind,
  record: Record<string, unknown>,
  header: { from: NodeId; to: NodeId; term: number },
): Message {
  switch (kind) {
    case "pre-vote":
    case "vote": {
      const lastLogIndex = readIndex(record.lastLogIndex, `${kind}.lastLogIndex`);
      const lastLogTerm = readTermAtMost(record.lastLogTerm, `${kind}.lastLogTerm`, header.term);
      const position = readPosition(record.position, `${kind}.position`);
      if (kind === "pre-vote") return { kind, ...header, lastLogIndex, lastLogTerm, position };
      const transfer = readBoolean(record.transfer, `${kind}.transfer`);
      return { kind, ...header, lastLogIndex, lastLogTerm, position, transfer };
    }
    case "vote-response":
      return {
        kind,
        ...header,
        preVote: readBoolean(record.preVote, `${kind}.preVote`),
        granted: readBoolean(record.granted, `${kind}.granted`),
        reason: readString(record.reason, `${kind}.reason`, 0, MAX_REASON_LENGTH),
      };
    case "append":
      return readAppend(record, header);
    case "append-response":
      return {
        kind,
        ...header,
        success: readBoolean(record.success, `${kind}.success`),
        matchIndex: readIndex(record.matchIndex, `${kind}.matchIndex`),
        round: readRound(record.round, `${kind}.round`),
        position: readNullable(record.position, `${kind}.position`, readPosition),
      };
    case "snapshot": {
      const snapshot = readSnapshot(record.snapshot, `${kind}.snapshot`);
      if (snapshot.lastTerm > header.term) {
        fail(
          `${kind}.snapshot.lastTerm`,
          `at most the message term ${header.term}`,
          snapshot.lastTerm,
        );
      }
      return {
        kind,
        ...header,
        snapshot,
        round: readRound(record.round, `${kind}.round`),
        leaderPosition: readNullable(record.leaderPosition, `${kind}.leaderPosition`, readPosition),
      };
    }
    case "timeout-now":
      return { kind, ...header };
  }
}

function readAppend(
  record: Record<string, unknown>,
  header: { from: NodeId; to: NodeId; term: number },
): Message {
  const prevLogIndex = readIndex(record.prevLogIndex, "append.prevLogIndex");
  const prevLogTerm = readTermAtMost(record.prevLogTerm, "append.prevLogTerm", header.term);
  const entries = readArray(record.entries, "append.entries", MAX_ENTRIES_PER_MESSAGE);
  const decoded: LogEntry[] = [];
  let previousTerm = prevLogTerm;
  for (const [position, value] of entries.entries()) {
    const path = `append.entries[${position}]`;
    const entry = readLogEntry(value, path);
    // A leader sends a contiguous run of its own log, whose terms never decrease and never
    // exceed its current term; anything else is corrupt and would break log matching.
    const expectedIndex = prevLogIndex + 1 + position;
    if (entry.index !== expectedIndex) {
      fail(`${path}.index`, `${expectedIndex} (prevLogIndex + ${position + 1})`, entry.index);
    }
    if (entry.term < previousTerm || entry.term > header.term) {
      fail(`${path}.term`, `a term from ${previousTerm} to ${header.term}`, entry.term);
    }
    previousTerm = entry.term;
    decoded.push(entry);
  }
  return {
    kind: "append",
    ...header,
    prevLogIndex,
    prevLogTerm,
    entries: decoded,
    commitIndex: readIndex(record.commitIndex, "append.commitIndex"),
    round: readRound(record.round, "append.round"),
    leaderPosition: readNullable(record.leaderPosition, "append.leaderPosition", readPosition),
  };
}

function readLogEntry(value: unknown, path: string): LogEntry {
  const record = readRecord(value, path, ["term", "index", "command"]);
  return {
    term: readTerm(record.term, `${path}.term`),
    index: readIndex(record.index, `${path}.index`),
    command: readCommand(record.command, `${path}.command`),
  };
}

function readCommand(value: unknown, path: string): Command {
  const kind = isPlainObject(value) ? ownField(value, "kind") : undefined;
  switch (kind) {
    case "noop":
      readRecord(value, path, ["kind"]);
      return { kind };
    case "membership": {
      const record = readRecord(value, path, ["kind", "membership"]);
      return { kind, membership: readMembership(record.membership, `${path}.membership`) };
    }
    case "kv": {
      const record = readRecord(value, path, ["kind", "key", "value"]);
      const key = readKey(record.key, `${path}.key`);
      const readValue = (item: unknown, at: string) => readString(item, at, 0, MAX_VALUE_LENGTH);
      return { kind, key, value: readNullable(record.value, `${path}.value`, readValue) };
    }
    case "pause": {
      const record = readRecord(value, path, ["kind", "paused"]);
      return { kind, paused: readBoolean(record.paused, `${path}.paused`) };
    }
    case "sync-mode": {
      const record = readRecord(value, path, ["kind", "mode"]);
      return { kind, mode: readSyncMode(record.mode, `${path}.mode`) };
    }
    case "switchover": {
      const record = readRecord(value, path, ["kind", "target"]);
      return { kind, target: readNullable(record.target, `${path}.target`, readNodeId) };
    }
    default:
      if (!isPlainObject(value)) fail(path, "an object", value);
      fail(`${path}.kind`, "one of noop, membership, kv, pause, sync-mode, switchover", kind);
  }
}

function readSnapshot(value: unknown, path: string): Snapshot {
  const record = readRecord(value, path, ["lastIndex", "lastTerm", "state"]);
  return {
    lastIndex: readIndex(record.lastIndex, `${path}.lastIndex`),
    lastTerm: readTerm(record.lastTerm, `${path}.lastTerm`),
    state: readClusterState(record.state, `${path}.state`),
  };
}

function readClusterState(value: unknown, path: string): ClusterState {
  const record = readRecord(value, path, [
    "membership",
    "paused",
    "syncMode",
    "switchoverTarget",
    "keyValues",
  ]);
  return {
    membership: readMembership(record.membership, `${path}.membership`),
    paused: readBoolean(record.paused, `${path}.paused`),
    syncMode: readSyncMode(record.syncMode, `${path}.syncMode`),
    switchoverTarget: readNullable(record.switchoverTarget, `${path}.switchoverTarget`, readNodeId),
    keyValues: readKeyValues(record.keyValues, `${path}.keyValues`),
  };
}

function readKeyValues(value: unknown, path: string): Readonly<Record<string, string>> {
  if (!isPlainObject(value)) fail(path, "an object of string values", value);
  const keys = Object.keys(value);
  if (keys.length > MAX_KEY_VALUE_ENTRIES) {
    failWith(path, `at most ${MAX_KEY_VALUE_ENTRIES} keys`, `${keys.length} keys`);
  }
  const pairs: [string, string][] = [];
  for (const key of keys) {
    const at = `${path}[${JSON.stringify(key.slice(0, MAX_KEY_LENGTH))}]`;
    readKey(key, at);
    pairs.push([key, readString(ownField(value, key), at, 0, MAX_VALUE_LENGTH)]);
  }
  // Object.fromEntries defines own properties, so no key can reach a prototype.
  return Object.fromEntries(pairs);
}

function readMembership(value: unknown, path: string): Membership {
  const record = readRecord(value, path, ["voters", "learners"]);
  const voters = readNodeIdList(record.voters, `${path}.voters`);
  const learners = readNodeIdList(record.learners, `${path}.learners`);
  for (const [position, learner] of learners.entries()) {
    // A node that both votes and learns would be counted twice by quorum arithmetic.
    if (voters.includes(learner)) {
      fail(`${path}.learners[${position}]`, "a node that is not a voter", learner);
    }
  }
  return { voters, learners };
}

function readNodeIdList(value: unknown, path: string): NodeId[] {
  const items = readArray(value, path, MAX_MEMBERS);
  const ids: NodeId[] = [];
  for (const [position, item] of items.entries()) {
    const id = readNodeId(item, `${path}[${position}]`);
    if (ids.includes(id)) fail(`${path}[${position}]`, "each node once", id);
    ids.push(id);
  }
  return ids;
}

function readPosition(value: unknown, path: string): WalPosition {
  const record = readRecord(value, path, ["timeline", "lsn", "history"]);
  const timeline = readTimeline(record.timeline, `${path}.timeline`);
  const lsn = readInteger(record.lsn, `${path}.lsn`);
  return { timeline, lsn, history: readHistory(record.history, `${path}.history`, timeline) };
}

function readTimeline(value: unknown, path: string): number {
  const timeline = readInteger(value, path);
  if (timeline > MAX_TIMELINE) fail(path, `a timeline id up to ${MAX_TIMELINE}`, timeline);
  return timeline;
}

/** A timeline history: ancestors oldest first, timelines rising below `timeline`, ends in order. */
function readHistory(value: unknown, path: string, timeline: number): TimelineSwitch[] {
  const lines = readArray(value, path, MAX_HISTORY_LINES);
  const history: TimelineSwitch[] = [];
  for (const [position, line] of lines.entries()) {
    const at = `${path}[${position}]`;
    const record = readRecord(line, at, ["timeline", "endLsn"]);
    const ancestor = readTimeline(record.timeline, `${at}.timeline`);
    const endLsn = readInteger(record.endLsn, `${at}.endLsn`);
    const previous = history[history.length - 1];
    if (ancestor >= timeline) fail(`${at}.timeline`, `a timeline below ${timeline}`, ancestor);
    if (previous !== undefined && ancestor <= previous.timeline) {
      fail(`${at}.timeline`, `a timeline above ${previous.timeline}`, ancestor);
    }
    if (previous !== undefined && endLsn < previous.endLsn) {
      fail(`${at}.endLsn`, `an LSN of at least ${previous.endLsn}`, endLsn);
    }
    history.push({ timeline: ancestor, endLsn });
  }
  return history;
}

function readSyncMode(value: unknown, path: string): SyncMode {
  if (value === "quorum" || value === "asynchronous") return value;
  fail(path, `"quorum" or "asynchronous"`, value);
}

function readTermAtMost(value: unknown, path: string, term: number): number {
  const read = readTerm(value, path);
  if (read > term) fail(path, `at most the message term ${term}`, read);
  return read;
}

function readKey(value: unknown, path: string): string {
  const key = readString(value, path, 1, MAX_KEY_LENGTH);
  const problem = checkKeyValueKey(key);
  if (problem !== null) throw new FieldError(`${path}: ${problem}`);
  return key;
}

function readNodeId(value: unknown, path: string): NodeId {
  if (typeof value === "string" && NODE_ID_PATTERN.test(value)) return value;
  fail(path, "a node id (1-63 letters, digits, _ or -)", value);
}

function readTerm(value: unknown, path: string): number {
  return readBoundedInteger(value, path, MAX_TERM, "a term");
}

function readIndex(value: unknown, path: string): number {
  return readBoundedInteger(value, path, MAX_LOG_INDEX, "a log index");
}

function readRound(value: unknown, path: string): number {
  return readBoundedInteger(value, path, MAX_ROUND, "a round");
}

function readBoundedInteger(value: unknown, path: string, bound: number, what: string): number {
  const read = readInteger(value, path);
  if (read > bound) fail(path, `${what} of at most ${bound}`, read);
  return read;
}

function readInteger(value: unknown, path: string): number {
  // `+ 0` turns -0 (which JSON can carry) into 0, so a decoded message re-encodes unchanged.
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value + 0;
  fail(path, "a non-negative integer", value);
}

function readBoolean(value: unknown, path: string): boolean {
  if (typeof value === "boolean") return value;
  fail(path, "a boolean", value);
}

function readString(value: unknown, path: string, minLength: number, maxLength: number): string {
  if (typeof value !== "string") fail(path, "a string", value);
  if (value.length < minLength || value.length > maxLength) {
    failWith(
      path,
      `a string of ${minLength} to ${maxLength} characters`,
      `${value.length} characters`,
    );
  }
  return value;
}

function readNullable<T>(
  value: unknown,
  path: string,
  read: (value: unknown, path: string) => T,
): T | null {
  return value === null ? null : read(value, path);
}

function readArray(value: unknown, path: string, maxLength: number): readonly unknown[] {
  if (!Array.isArray(value)) fail(path, "an array", value);
  if (value.length > maxLength) {
    failWith(path, `at most ${maxLength} items`, `${value.length} items`);
  }
  return value;
}

function readRecord(
  value: unknown,
  path: string,
  fields: readonly string[],
): Record<string, unknown> {
  if (!isPlainObject(value)) fail(path, "an object", value);
  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) {
      throw new FieldError(
        `${path}: unexpected field ${JSON.stringify(key)}; expected only ${fields.join(", ")}`,
      );
    }
  }
  const record: Record<string, unknown> = {};
  for (const field of fields) record[field] = ownField(value, field);
  return record;
}

function ownField(value: object, key: string): unknown {
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function fail(path: string, expected: string, value: unknown): never {
  failWith(path, expected, describe(value));
}

function failWith(path: string, expected: string, got: string): never {
  throw new FieldError(`${path}: expected ${expected}, got ${got}`);
}

/** A short, printable rendering of a wrong value for an error message. */
function describe(value: unknown): string {
  const maxLength = 60;
  if (value === undefined) return "nothing (the field is missing)";
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === "object" && value !== null) return "an object";
  if (typeof value === "bigint" || typeof value === "symbol" || typeof value === "function") {
    return `a ${typeof value}`;
  }
  const text = typeof value === "number" && !Number.isFinite(value)
    ? String(value)
    : JSON.stringify(value);
  return text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
}
