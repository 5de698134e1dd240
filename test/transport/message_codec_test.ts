/**
 * The codec accepts every valid message unchanged and refuses every malformed one with an error
 * that names the field path and the wrong value; it never throws on any input.
 */
import fc from "fast-check";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  MAX_KEY_LENGTH as CORE_MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH as CORE_MAX_VALUE_LENGTH,
} from "../../src/core/cluster_state.ts";
import { defaultCoreConfig } from "../../src/core/config.ts";
import type { Message } from "../../src/core/types.ts";
import { encodeFrame, MAX_FRAME_BYTES } from "../../src/transport/frame.ts";
import {
  decodeMessage,
  decodeMessageBytes,
  encodeMessage,
  MAX_ENTRIES_PER_MESSAGE,
  MAX_HISTORY_LINES,
  MAX_KEY_LENGTH,
  MAX_KEY_VALUE_ENTRIES,
  MAX_MESSAGE_BYTES,
  MAX_VALUE_LENGTH,
} from "../../src/transport/message_codec.ts";
import { messageArbitrary } from "./message_arbitraries.ts";
import { SAMPLE_APPEND, SAMPLE_MESSAGES } from "./sample_messages.ts";

type Json = Record<string, unknown>;

function roundTrip(message: Message) {
  return decodeMessageBytes(encodeMessage(message));
}

/** A deep copy of a sample as loose JSON, changed by `change`. */
function mutated(message: Message, change: (json: Json) => void): unknown {
  const json = JSON.parse(JSON.stringify(message)) as Json;
  change(json);
  return json;
}

function sample(kind: Message["kind"]): Message {
  const found = SAMPLE_MESSAGES.find((message) => message.kind === kind);
  if (found === undefined) throw new Error(`no sample of kind ${kind}`);
  return found;
}

function entry(json: Json, position: number): Json {
  return (json.entries as Json[])[position]!;
}

function historyLine(json: Json, line: number): Json {
  return ((json.position as Json).history as Json[])[line]!;
}

function snapshotState(json: Json): Json {
  return (json.snapshot as Json).state as Json;
}

Deno.test("every message kind round-trips through encode and decode unchanged", () => {
  assertEquals(new Set(SAMPLE_MESSAGES.map((message) => message.kind)).size, 7);
  for (const message of SAMPLE_MESSAGES) {
    assertEquals(roundTrip(message), { ok: true, message }, message.kind);
  }
});

Deno.test("property: every generated valid message round-trips unchanged", () => {
  fc.assert(
    fc.property(messageArbitrary, (message) => {
      // fast-check builds null-prototype records; the decoder returns ordinary objects.
      assertEquals(roundTrip(message), { ok: true, message: JSON.parse(JSON.stringify(message)) });
    }),
    { numRuns: 2000 },
  );
});

/** [what is wrong, the payload, the exact error expected]. */
const REJECTED: readonly [string, () => unknown, string][] = [
  [
    "a negative entry term",
    () => mutated(SAMPLE_APPEND, (json) => entry(json, 3).term = -1),
    "append.entries[3].term: expected a non-negative integer, got -1",
  ],
  [
    "a fractional term",
    () => mutated(sample("vote"), (json) => json.term = 1.5),
    "vote.term: expected a non-negative integer, got 1.5",
  ],
  [
    "a term given as a string",
    () => mutated(sample("vote"), (json) => json.term = "8"),
    'vote.term: expected a non-negative integer, got "8"',
  ],
  [
    "a term past 2^53",
    () => mutated(sample("timeout-now"), (json) => json.term = 2 ** 53),
    "timeout-now.term: expected a non-negative integer, got 9007199254740992",
  ],
  [
    "an unknown kind",
    () => mutated(sample("vote"), (json) => json.kind = "install"),
    'message.kind: expected one of pre-vote, vote, vote-response, append, append-response, snapshot, timeout-now, got "install"',
  ],
  ["null", () => null, "message: expected an object, got null"],
  ["an array", () => [1, 2], "message: expected an object, got an array of 2 items"],
  [
    "a bad sender id",
    () => mutated(sample("vote"), (json) => json.from = "node 1"),
    'vote.from: expected a node id (1-63 letters, digits, _ or -), got "node 1"',
  ],
  [
    "a 64-character node id",
    () => mutated(sample("vote"), (json) => json.to = "n".repeat(64)),
    "vote.to: expected a node id",
  ],
  [
    "a message to its own sender",
    () => mutated(sample("vote"), (json) => json.to = "node1"),
    'vote.to: expected a node other than the sender node1, got "node1"',
  ],
  [
    "an unknown field",
    () => mutated(sample("pre-vote"), (json) => json.extra = 1),
    'pre-vote: unexpected field "extra"; expected only kind, from, to, term, lastLogIndex, lastLogTerm, position',
  ],
  [
    "a missing field",
    () => mutated(sample("vote"), (json) => delete json.transfer),
    "vote.transfer: expected a boolean, got nothing (the field is missing)",
  ],
  [
    "a missing position",
    () => mutated(sample("pre-vote"), (json) => delete json.position),
    "pre-vote.position: expected an object, got nothing (the field is missing)",
  ],
  [
    "a timeline over 32 bits",
    () => mutated(sample("pre-vote"), (json) => (json.position as Json).timeline = 2 ** 32),
    "pre-vote.position.timeline: expected a timeline id up to 4294967295, got 4294967296",
  ],
  [
    "a timeline history longer than its bound",
    () =>
      mutated(sample("pre-vote"), (json) =>
        (json.position as Json).history = Array.from(
          { length: MAX_HISTORY_LINES + 1 },
          (_, i) => ({ timeline: i, endLsn: i }),
        )),
    `pre-vote.position.history: expected at most ${MAX_HISTORY_LINES} items, got ${
      MAX_HISTORY_LINES + 1
    } items`,
  ],
  [
    "a history line at the position's own timeline",
    () => mutated(sample("pre-vote"), (json) => historyLine(json, 1).timeline = 3),
    "pre-vote.position.history[1].timeline: expected a timeline below 3, got 3",
  ],
  [
    "history timelines out of order",
    () => mutated(sample("pre-vote"), (json) => historyLine(json, 1).timeline = 1),
    "pre-vote.position.history[1].timeline: expected a timeline above 1, got 1",
  ],
  [
    "history end LSNs going down",
    () => mutated(sample("pre-vote"), (json) => historyLine(json, 1).endLsn = 5),
    "pre-vote.position.history[1].endLsn: expected an LSN of at least 16777216, got 5",
  ],
  [
    "a history end LSN beyond the safe integers",
    () => mutated(sample("pre-vote"), (json) => historyLine(json, 0).endLsn = 2 ** 53),
    "pre-vote.position.history[0].endLsn: expected a non-negative integer, got 9007199254740992",
  ],
  [
    "a position without its history",
    () => mutated(sample("pre-vote"), (json) => delete (json.position as Json).history),
    "pre-vote.position.history: expected an array, got nothing (the field is missing)",
  ],
  [
    "a last log term above the message term",
    () => mutated(sample("vote"), (json) => json.lastLogTerm = 9),
    "vote.lastLogTerm: expected at most the message term 8, got 9",
  ],
  [
    "too many entries",
    () =>
      mutated(SAMPLE_APPEND, (json) =>
        json.entries = Array.from(
          { length: MAX_ENTRIES_PER_MESSAGE + 1 },
          (_, i) => ({ term: 5, index: 11 + i, command: { kind: "noop" } }),
        )),
    `append.entries: expected at most ${MAX_ENTRIES_PER_MESSAGE} items, got ${
      MAX_ENTRIES_PER_MESSAGE + 1
    } items`,
  ],
  [
    "a gap between entries",
    () => mutated(SAMPLE_APPEND, (json) => entry(json, 1).index = 13),
    "append.entries[1].index: expected 12 (prevLogIndex + 2), got 13",
  ],
  [
    "entry terms going down",
    () => mutated(SAMPLE_APPEND, (json) => entry(json, 2).term = 5),
    "append.entries[2].term: expected a term from 6 to 7, got 5",
  ],
  [
    "an entry term above the leader's",
    () => mutated(SAMPLE_APPEND, (json) => entry(json, 7).term = 8),
    "append.entries[7].term: expected a term from 7 to 7, got 8",
  ],
  [
    "an unknown command",
    () => mutated(SAMPLE_APPEND, (json) => (entry(json, 0).command as Json).kind = "drop-table"),
    'append.entries[0].command.kind: expected one of noop, membership, kv, pause, sync-mode, switchover, got "drop-table"',
  ],
  [
    "a wrong sync mode",
    () => mutated(SAMPLE_APPEND, (json) => (entry(json, 5).command as Json).mode = "sync"),
    'append.entries[5].command.mode: expected "quorum" or "asynchronous", got "sync"',
  ],
  [
    "a duplicated voter",
    () =>
      mutated(
        SAMPLE_APPEND,
        (json) => ((entry(json, 1).command as Json).membership as Json).voters = ["node1", "node1"],
      ),
    'append.entries[1].command.membership.voters[1]: expected each node once, got "node1"',
  ],
  [
    "a learner that votes",
    () =>
      mutated(
        SAMPLE_APPEND,
        (json) => ((entry(json, 1).command as Json).membership as Json).learners = ["node2"],
      ),
    'append.entries[1].command.membership.learners[0]: expected a node that is not a voter, got "node2"',
  ],
  [
    "a key with a space",
    () => mutated(SAMPLE_APPEND, (json) => (entry(json, 2).command as Json).key = "a key"),
    'append.entries[2].command.key: expected printable ASCII without spaces, got "a key"',
  ],
  [
    "a key too long",
    () =>
      mutated(
        SAMPLE_APPEND,
        (json) => (entry(json, 2).command as Json).key = "k".repeat(MAX_KEY_LENGTH + 1),
      ),
    `append.entries[2].command.key: expected a string of 1 to ${MAX_KEY_LENGTH} characters, got ${
      MAX_KEY_LENGTH + 1
    } characters`,
  ],
  [
    "a value too long",
    () =>
      mutated(
        SAMPLE_APPEND,
        (json) => (entry(json, 2).command as Json).value = "v".repeat(MAX_VALUE_LENGTH + 1),
      ),
    `append.entries[2].command.value: expected a string of 0 to ${MAX_VALUE_LENGTH} characters, got ${
      MAX_VALUE_LENGTH + 1
    } characters`,
  ],
  [
    "a __proto__ key",
    () => JSON.parse(JSON.stringify(SAMPLE_APPEND).replace("member/node1/address", "__proto__")),
    'append.entries[2].command.key: "__proto__" is reserved',
  ],
  [
    "a __proto__ key in a snapshot",
    () => JSON.parse(JSON.stringify(sample("snapshot")).replace('"setting/x"', '"__proto__"')),
    'snapshot.snapshot.state.keyValues["__proto__"]: "__proto__" is reserved',
  ],
  [
    "too many keys in a snapshot",
    () =>
      mutated(sample("snapshot"), (json) =>
        snapshotState(json).keyValues = Object.fromEntries(
          Array.from({ length: MAX_KEY_VALUE_ENTRIES + 1 }, (_, i) => [`k${i}`, ""]),
        )),
    `snapshot.snapshot.state.keyValues: expected at most ${MAX_KEY_VALUE_ENTRIES} keys, got ${
      MAX_KEY_VALUE_ENTRIES + 1
    } keys`,
  ],
  [
    "a non-string value in a snapshot",
    () =>
      mutated(
        sample("snapshot"),
        (json) => (snapshotState(json).keyValues as Json)["setting/x"] = 3,
      ),
    'snapshot.snapshot.state.keyValues["setting/x"]: expected a string, got 3',
  ],
  [
    "a snapshot from a later term",
    () => mutated(sample("snapshot"), (json) => (json.snapshot as Json).lastTerm = 8),
    "snapshot.snapshot.lastTerm: expected at most the message term 7, got 8",
  ],
  [
    "a reason too long",
    () => mutated(sample("vote-response"), (json) => json.reason = "r".repeat(1025)),
    "vote-response.reason: expected a string of 0 to 1024 characters, got 1025 characters",
  ],
  [
    "a boolean given as a number",
    () => mutated(sample("append-response"), (json) => json.success = 1),
    "append-response.success: expected a boolean, got 1",
  ],
  [
    "a switchover to a bad id",
    () => mutated(SAMPLE_APPEND, (json) => (entry(json, 6).command as Json).target = ""),
    'append.entries[6].command.target: expected a node id (1-63 letters, digits, _ or -), got ""',
  ],
];

Deno.test("malformed messages are refused with the field path and the wrong value", () => {
  for (const [what, build, expected] of REJECTED) {
    const result = decodeMessage(build());
    assert(!result.ok, `${what}: accepted`);
    assert(
      result.error.startsWith(expected),
      `${what}: got error\n  ${result.error}\nexpected it to start with\n  ${expected}`,
    );
  }
});

Deno.test("payload bytes that are not UTF-8 JSON, or too large, are refused", () => {
  const notUtf8 = decodeMessageBytes(new Uint8Array([0x7b, 0xff, 0x7d]));
  assert(!notUtf8.ok);
  assert(notUtf8.error.includes("message: not UTF-8 JSON"), notUtf8.error);
  const notJson = decodeMessageBytes(new TextEncoder().encode("{kind: vote"));
  assert(!notJson.ok);
  assert(notJson.error.includes("message: not UTF-8 JSON"), notJson.error);
  const tooLarge = decodeMessageBytes(new Uint8Array(MAX_MESSAGE_BYTES + 1));
  assert(!tooLarge.ok);
  assert(tooLarge.error.includes("over the"), tooLarge.error);
});

/** Every path into a JSON value (arrays by index, objects by key). */
function pathsOf(
  value: unknown,
  prefix: (string | number)[] = [],
  paths: (string | number)[][] = [],
) {
  paths.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], paths));
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], paths);
  }
  return paths;
}

/** Replaces (or, with `remove`, deletes) the value at `path`; returns the new root. */
function replaceAt(
  root: unknown,
  path: (string | number)[],
  replacement: unknown,
  remove: boolean,
): unknown {
  if (path.length === 0) return replacement;
  let parent = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return root;
}

Deno.test("property: random mutations never throw; what is accepted is itself valid", () => {
  const mutationArbitrary = fc.record({
    message: messageArbitrary,
    pick: fc.nat(),
    replacement: fc.anything({ withNullPrototype: true, withBigInt: true, withBoxedValues: true }),
    remove: fc.boolean(),
  });
  let refused = 0;
  fc.assert(
    fc.property(mutationArbitrary, ({ message, pick, replacement, remove }) => {
      const json = JSON.parse(JSON.stringify(message));
      const paths = pathsOf(json);
      const mutant = replaceAt(json, paths[pick % paths.length]!, replacement, remove);
      const result = decodeMessage(mutant);
      if (!result.ok) {
        refused++;
        assert(
          /^[a-z-]+[.:[]/.test(result.error) || result.error.startsWith("message"),
          result.error,
        );
        return;
      }
      // Accepted: the decoded message must survive another round trip exactly.
      assertEquals(roundTrip(result.message), { ok: true, message: result.message });
    }),
    { numRuns: 3000 },
  );
  assert(
    refused > 1000,
    `only ${refused} of 3000 mutants were refused: the mutations are too weak to mean anything`,
  );
});

Deno.test("property: random bytes never make the decoder throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const result = decodeMessageBytes(bytes);
      assertEquals(typeof result.ok, "boolean");
    }),
    { numRuns: 2000 },
  );
});

Deno.test("the codec accepts everything the core may legitimately send", () => {
  const core = defaultCoreConfig();
  assert(
    core.maxEntriesPerMessage <= MAX_ENTRIES_PER_MESSAGE,
    "core sends more entries than peers accept",
  );
  assert(
    core.maxKeyValueEntries <= MAX_KEY_VALUE_ENTRIES,
    "core keeps more keys than a snapshot may carry",
  );
  assert(CORE_MAX_KEY_LENGTH <= MAX_KEY_LENGTH, "core allows longer keys than peers accept");
  assert(CORE_MAX_VALUE_LENGTH <= MAX_VALUE_LENGTH, "core allows longer values than peers accept");
});

Deno.test("the largest valid snapshot (every character escaped) fits in one frame", () => {
  // \u0001 is written by JSON as the 6-byte escape \\u0001: the worst case per character.
  const value = "\u0001".repeat(MAX_VALUE_LENGTH);
  const keyValues = Object.fromEntries(
    Array.from(
      { length: MAX_KEY_VALUE_ENTRIES },
      (_, i) => [String(i).padStart(MAX_KEY_LENGTH, "k"), value],
    ),
  );
  const message = mutated(
    sample("snapshot"),
    (json) => snapshotState(json).keyValues = keyValues,
  ) as Message;
  const result = roundTrip(message);
  assert(result.ok, result.ok ? "" : result.error);
  const payload = encodeMessage(message);
  assert(payload.length <= MAX_MESSAGE_BYTES, `${payload.length} bytes`);
  const frame = encodeFrame(
    {
      clusterId: "c".repeat(63),
      senderId: "n".repeat(63),
      sequence: Number.MAX_SAFE_INTEGER,
      payload,
    },
    new Uint8Array(32),
    new Uint8Array(16),
  );
  assert(frame.length - 4 <= MAX_FRAME_BYTES);
});
