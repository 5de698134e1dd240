/**
 * RaftStorage: every PersistRequest shape survives a restart exactly, and damaged, truncated
 * or missing files are refused instead of being read as an empty or partial state.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import type { LogEntry, PersistentState, PersistRequest, Snapshot } from "../../src/core/types.ts";
import { StorageCorruptionError, writeDurableJson } from "../../src/storage/durable_file.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { expectedState, requestFor } from "./crash_plan.ts";
import { expectRejection, withTempDirectory } from "./test_helpers.ts";

function entry(index: number, term: number): LogEntry {
  return { index, term, command: { kind: "kv", key: `key${index}`, value: `term${term}` } };
}

function snapshot(lastIndex: number, lastTerm: number): Snapshot {
  const state = {
    membership: { voters: ["node1", "node2", "node3"], learners: ["node4"] },
    paused: false,
    syncMode: "quorum" as const,
    switchoverTarget: "node2",
    keyValues: { "address.node1": "10.0.0.1:7000" },
  };
  return { lastIndex, lastTerm, state };
}

const nothing: PersistRequest = { hardState: null, truncateFrom: null, append: [], snapshot: null };

/** Applies `request` and checks that a freshly opened storage loads exactly `expected`. */
async function applyAndReload(
  directory: string,
  request: PersistRequest,
  expected: PersistentState,
): Promise<void> {
  const writer = await RaftStorage.open(directory);
  await writer.load();
  await writer.apply(request);
  writer.close();
  const reader = await RaftStorage.open(directory);
  try {
    assertEquals(await reader.load(), expected);
  } finally {
    reader.close();
  }
}

async function loadIn(directory: string): Promise<PersistentState | null> {
  const storage = await RaftStorage.open(directory);
  try {
    return await storage.load();
  } finally {
    storage.close();
  }
}

Deno.test("a fresh state directory loads as null and is created with mode 0700", async () => {
  await withTempDirectory("hactl_raft_", async (parent) => {
    const directory = join(parent, "nested", "state");
    assertEquals(await loadIn(directory), null);
    assertEquals(await loadIn(directory), null, "reopening an untouched directory stays fresh");
    assertEquals((await Deno.stat(directory)).mode! & 0o777, 0o700);
  });
});

Deno.test("every PersistRequest shape round-trips through a restart", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    const hardState = { term: 3, votedFor: "node2", commitIndex: 0 };
    // Hard state only: a vote.
    await applyAndReload(directory, { ...nothing, hardState }, {
      hardState,
      snapshot: null,
      entries: [],
    });
    // Append.
    const log = [entry(1, 1), entry(2, 2), entry(3, 3), entry(4, 3)];
    await applyAndReload(directory, { ...nothing, append: log }, {
      hardState,
      snapshot: null,
      entries: log,
    });
    // Truncate and append: entries 3 and 4 are replaced by a new leader's entries of term 5.
    const newTerm = { term: 5, votedFor: null, commitIndex: 2 };
    const replaced = [entry(1, 1), entry(2, 2), entry(3, 5), entry(4, 5), entry(5, 5)];
    await applyAndReload(
      directory,
      { hardState: newTerm, truncateFrom: 3, append: replaced.slice(2), snapshot: null },
      { hardState: newTerm, snapshot: null, entries: replaced },
    );
    // A snapshot that discards the prefix it covers (and the append in the same step).
    const compacted = { ...nothing, append: [entry(6, 5)], snapshot: snapshot(3, 5) };
    await applyAndReload(directory, compacted, {
      hardState: newTerm,
      snapshot: snapshot(3, 5),
      entries: [entry(4, 5), entry(5, 5), entry(6, 5)],
    });
    // A snapshot beyond the log (InstallSnapshot from a leader): the whole log goes.
    const installed = {
      hardState: { ...newTerm, term: 9 },
      truncateFrom: null,
      append: [],
      snapshot: snapshot(20, 8),
    };
    const afterInstall = { hardState: installed.hardState, snapshot: snapshot(20, 8), entries: [] };
    await applyAndReload(directory, installed, afterInstall);
    // Appending right after the snapshot.
    await applyAndReload(directory, { ...nothing, append: [entry(21, 9)] }, {
      ...afterInstall,
      entries: [entry(21, 9)],
    });
    const names = [...Deno.readDirSync(directory)].map((file) => file.name).sort();
    assertEquals(
      names,
      ["raft.lock", "raft_snapshot.2", "raft_state"],
      "the old snapshot is removed",
    );
  });
});

Deno.test("a snapshot whose term contradicts the entries it keeps is refused", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    const hardState = { term: 4, votedFor: null, commitIndex: 0 };
    const log = [entry(1, 1), entry(2, 2), entry(3, 2)];
    await applyAndReload(directory, { ...nothing, hardState, append: log }, {
      hardState,
      snapshot: null,
      entries: log,
    });
    // Entry 3 (term 2) would follow a snapshot ending in term 3: terms would go down.
    const storage = await RaftStorage.open(directory);
    try {
      const error = await expectRejection(
        () => storage.apply({ ...nothing, snapshot: snapshot(2, 3) }),
        Error,
      );
      assert(error.message.includes("non-decreasing"), error.message);
      assertEquals(await storage.load(), { hardState, snapshot: null, entries: log });
    } finally {
      storage.close();
    }
  });
});

Deno.test("the crash plan's requests load back as the independently computed states", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    const storage = await RaftStorage.open(directory);
    const maxStep = 130;
    try {
      for (let step = 1; step <= maxStep; step++) {
        await storage.apply(requestFor(step));
        assertEquals(await storage.load(), expectedState(step), `state ${step}`);
      }
    } finally {
      storage.close();
    }
    assertEquals(await loadIn(directory), expectedState(maxStep));
  });
});

Deno.test("apply refuses a request that would break the log, and writes nothing", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    const hardState = { term: 2, votedFor: null, commitIndex: 0 };
    const storage = await RaftStorage.open(directory);
    try {
      await storage.apply({ ...nothing, hardState, append: [entry(1, 1), entry(2, 2)] });
      const before = await storage.load();
      const bad: PersistRequest[] = [
        { ...nothing, append: [entry(4, 2)] }, // gap after index 2
        { ...nothing, append: [entry(3, 1)] }, // term goes down
        { ...nothing, append: [entry(3, 3)] }, // term above the hard state's term
        { ...nothing, hardState: { term: 2, votedFor: null, commitIndex: 9 } }, // commit beyond log
        { ...nothing, snapshot: snapshot(2, 2), truncateFrom: null },
      ];
      for (const request of bad.slice(0, 4)) {
        await expectRejection(() => storage.apply(request), Error);
        assertEquals(await storage.load(), before);
      }
      await storage.apply(bad[4]!);
      // A snapshot older than the stored one would move the node back in time.
      await expectRejection(() => storage.apply({ ...nothing, snapshot: snapshot(1, 1) }), Error);
    } finally {
      storage.close();
    }
  });
});

Deno.test("a second process or handle cannot open a state directory in use", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    const first = await RaftStorage.open(directory);
    try {
      const error = await expectRejection(() => RaftStorage.open(directory), Error);
      assert(error.message.includes("in use by another process"), error.message);
    } finally {
      first.close();
    }
    (await RaftStorage.open(directory)).close();
  });
});

/** A directory holding a vote, three entries and a snapshot file. */
async function populated(directory: string): Promise<void> {
  const hardState = { term: 6, votedFor: "node3", commitIndex: 3 };
  const storage = await RaftStorage.open(directory);
  await storage.apply({
    hardState,
    truncateFrom: null,
    append: [entry(1, 1), entry(2, 6), entry(3, 6)],
    snapshot: null,
  });
  await storage.apply({ ...nothing, snapshot: snapshot(1, 1) });
  storage.close();
}

Deno.test("a flipped byte in each state file is refused, naming that file", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    await populated(directory);
    for (const name of ["raft_state", "raft_snapshot.1"]) {
      const path = join(directory, name);
      const original = await Deno.readFile(path);
      const damaged = original.slice();
      damaged[Math.floor(damaged.length / 2)]! ^= 0x20;
      await Deno.writeFile(path, damaged);
      const error = await expectRejection(() => loadIn(directory), StorageCorruptionError);
      assertEquals(error.path, path);
      assert(
        error.message.includes("checksum mismatch") && error.message.includes(name),
        error.message,
      );
      await Deno.writeFile(path, original);
    }
    assert((await loadIn(directory)) !== null);
  });
});

Deno.test("a truncated state file is refused", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    await populated(directory);
    const path = join(directory, "raft_state");
    const original = await Deno.readFile(path);
    await Deno.writeFile(path, original.subarray(0, original.length - 10));
    const error = await expectRejection(() => loadIn(directory), StorageCorruptionError);
    assertEquals(
      error.problem,
      `truncated: expected ${original.length} bytes got ${original.length - 10}`,
    );
  });
});

Deno.test("a missing state file is refused when another one exists", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    await populated(directory);
    const snapshotPath = join(directory, "raft_snapshot.1");
    const snapshotBytes = await Deno.readFile(snapshotPath);
    await Deno.remove(snapshotPath);
    let error = await expectRejection(() => loadIn(directory), StorageCorruptionError);
    assertEquals(error.problem, "missing, but raft_state refers to it");
    assertEquals(error.path, snapshotPath);

    await Deno.writeFile(snapshotPath, snapshotBytes);
    await Deno.remove(join(directory, "raft_state"));
    error = await expectRejection(() => loadIn(directory), StorageCorruptionError);
    assertEquals(error.problem, "missing, but raft_snapshot.1 exists");
  });
});

Deno.test("a well-framed state that breaks a log invariant is refused on load", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    (await RaftStorage.open(directory)).close();
    const path = join(directory, "raft_state");
    const write = (hardState: unknown, entries: unknown) =>
      writeDurableJson(path, { format: "hactl-raft-state-v1", hardState, snapshot: null, entries });
    const cases: [unknown, unknown, string][] = [
      [{ term: 5, votedFor: null, commitIndex: 0 }, [entry(1, 1), entry(3, 1)], "contiguous"],
      [{ term: 5, votedFor: null, commitIndex: 0 }, [entry(2, 1)], "contiguous"],
      [{ term: 5, votedFor: null, commitIndex: 0 }, [entry(1, 3), entry(2, 2)], "non-decreasing"],
      [{ term: 2, votedFor: null, commitIndex: 0 }, [entry(1, 3)], "hard state term 2 is below"],
      [{ term: -1, votedFor: null, commitIndex: 0 }, [], "hardState.term must be an integer >= 0"],
      [{ term: 1, votedFor: 7, commitIndex: 0 }, [], "hardState.votedFor must be a string"],
    ];
    for (const [hardState, entries, expected] of cases) {
      await write(hardState, entries);
      const error = await expectRejection(() => loadIn(directory), StorageCorruptionError);
      assert(error.message.includes(expected), `${expected} not in: ${error.message}`);
    }
  });
});

Deno.test("leftover temporary and uncommitted snapshot files are ignored and removed", async () => {
  await withTempDirectory("hactl_raft_", async (directory) => {
    await populated(directory);
    const expected = await loadIn(directory);
    // A crash mid-write of raft_state, and one after a new snapshot file but before raft_state.
    await Deno.writeTextFile(join(directory, "raft_state.tmp"), "torn");
    await writeDurableJson(join(directory, "raft_snapshot.2"), {
      format: "hactl-raft-snapshot-v1",
      snapshot: snapshot(3, 6),
    });
    assertEquals(await loadIn(directory), expected);
    const names = [...Deno.readDirSync(directory)].map((file) => file.name).sort();
    assertEquals(names, ["raft.lock", "raft_snapshot.1", "raft_state"]);
  });
});
