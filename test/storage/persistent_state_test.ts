/**
 * Storage gives a PersistRequest exactly the meaning the core defines
 * (src/core/persistence.ts): random sequences of valid requests produce the same state in
 * storage's own applyPersistRequest, and through a real RaftStorage after a reopen.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import {
  applyPersistRequest as coreApply,
  EMPTY_PERSISTENT_STATE,
} from "../../src/core/persistence.ts";
import type { PersistentState, PersistRequest, Snapshot } from "../../src/core/types.ts";
import {
  applyPersistRequest,
  findStateProblem,
  lastIndexOf,
} from "../../src/storage/persistent_state.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { withTempDirectory } from "./test_helpers.ts";

/** What a step of the core may ask for; turned into a valid request against the current state. */
interface Intent {
  readonly newTerm: boolean;
  readonly vote: boolean;
  readonly commitFraction: number;
  readonly truncateBack: number | null;
  readonly appendCount: number;
  readonly appendBack: number;
  readonly snapshotAhead: number | null;
}

const intentArbitrary: fc.Arbitrary<Intent> = fc.record({
  newTerm: fc.boolean(),
  vote: fc.boolean(),
  commitFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  truncateBack: fc.option(fc.integer({ min: 0, max: 4 })),
  appendCount: fc.integer({ min: 0, max: 4 }),
  appendBack: fc.integer({ min: 0, max: 3 }),
  snapshotAhead: fc.option(fc.integer({ min: 0, max: 8 }), { freq: 3 }),
});

function termAt(state: PersistentState, index: number): number | null {
  if (state.snapshot?.lastIndex === index) return state.snapshot.lastTerm;
  return state.entries.find((entry) => entry.index === index)?.term ?? null;
}

/** A request the core could emit in `state`: terms never exceed the hard state's term. */
function requestFor(state: PersistentState, intent: Intent): PersistRequest {
  const term = state.hardState.term + (intent.newTerm ? 1 : 0);
  const snapshotIndex = state.snapshot?.lastIndex ?? 0;
  const last = lastIndexOf(state);
  const truncateFrom = intent.truncateBack === null
    ? null
    : Math.max(snapshotIndex + 1, last + 1 - intent.truncateBack);
  const afterTruncate = truncateFrom === null ? last : Math.min(last, truncateFrom - 1);
  const first = Math.max(snapshotIndex + 1, afterTruncate + 1 - intent.appendBack);
  const append = Array.from({ length: intent.appendCount }, (_, offset) => ({
    index: first + offset,
    term: Math.max(term, 1),
    command: { kind: "kv" as const, key: "k", value: `${first + offset}@${term}` },
  }));
  const newLast = append.at(-1)?.index ?? afterTruncate;
  const hardState = {
    term: Math.max(term, 1),
    votedFor: intent.vote ? "node2" : null,
    commitIndex: Math.floor(intent.commitFraction * newLast),
  };
  let snapshot: Snapshot | null = null;
  if (intent.snapshotAhead !== null) {
    // Up to an index in the log (compaction) or beyond its end (InstallSnapshot).
    const lastIndex = Math.max(1, snapshotIndex + intent.snapshotAhead);
    const logOnly = coreApply(state, { hardState, truncateFrom, append, snapshot: null });
    snapshot = {
      lastIndex,
      lastTerm: termAt(logOnly, lastIndex) ?? hardState.term,
      state: {
        membership: { voters: ["node1"], learners: [] },
        paused: false,
        syncMode: "asynchronous",
        switchoverTarget: null,
        keyValues: { at: String(lastIndex) },
      },
    };
  }
  return { hardState, truncateFrom, append, snapshot };
}

Deno.test("storage's applyPersistRequest equals the core's on random request sequences", () => {
  let requests = 0;
  let skipped = 0;
  fc.assert(
    fc.property(fc.array(intentArbitrary, { maxLength: 40 }), (intents) => {
      let state = EMPTY_PERSISTENT_STATE;
      for (const intent of intents) {
        const request = requestFor(state, intent);
        const next = coreApply(state, request);
        requests += 1;
        // Not a request a correct core emits (e.g. a snapshot older than the stored one).
        if (
          findStateProblem(next) !== null ||
          (state.snapshot?.lastIndex ?? 0) > (next.snapshot?.lastIndex ?? 0)
        ) {
          skipped += 1;
          continue;
        }
        assertEquals(applyPersistRequest(state, request), next);
        state = next;
      }
    }),
    { numRuns: 300 },
  );
  // The generator must mostly produce valid requests, or the comparison proves little.
  assert(skipped < requests / 10, `${skipped} of ${requests} generated requests were invalid`);
});

Deno.test("RaftStorage reloads exactly the core's state after random request sequences", async () => {
  await withTempDirectory("hactl_property_", async (parent) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(intentArbitrary, { minLength: 1, maxLength: 25 }),
        async (intents) => {
          const directory = `${parent}/run${run++}`;
          const storage = await RaftStorage.open(directory);
          let state = EMPTY_PERSISTENT_STATE;
          try {
            for (const intent of intents) {
              const request = requestFor(state, intent);
              const next = coreApply(state, request);
              if (findStateProblem(next) !== null) continue;
              await storage.apply(request);
              state = next;
            }
          } finally {
            storage.close();
          }
          const reader = await RaftStorage.open(directory);
          try {
            const loaded = await reader.load();
            assertEquals(loaded ?? EMPTY_PERSISTENT_STATE, state);
          } finally {
            reader.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
