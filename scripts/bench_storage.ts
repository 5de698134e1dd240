/**
 * Measures how long RaftStorage.apply takes (it is dominated by fsync), next to a bare
 * write + fsync of a small file as the floor this disk allows.
 *
 * Usage: deno run --allow-all scripts/bench_storage.ts [--parent /path/on/the/target/disk]
 *        [--iterations 200]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import type { LogEntry, PersistRequest } from "../src/core/types.ts";
import { RaftStorage } from "../src/storage/raft_storage.ts";
import { printLatencySummary } from "./latency_summary.ts";

const { values } = parseArgs({
  options: { parent: { type: "string" }, iterations: { type: "string", default: "200" } },
});
const iterations = Number(values.iterations);
const fullLogEntries = 1000;

function entry(index: number): LogEntry {
  const value = `10.0.0.${index % 250}:5432 and some padding to look like a real value`;
  return { index, term: 1, command: { kind: "kv", key: `member.node${index % 5}`, value } };
}

function summary(name: string, durationsMs: number[], extra = ""): void {
  printLatencySummary(name, durationsMs, { extra });
}

async function time(action: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

async function bareFsync(directory: string): Promise<number[]> {
  const durations: number[] = [];
  const bytes = new Uint8Array(100);
  for (let i = 0; i < iterations; i++) {
    durations.push(
      await time(async () => {
        const file = await Deno.open(join(directory, "bare"), {
          write: true,
          create: true,
          truncate: true,
        });
        await file.write(bytes);
        await file.sync();
        file.close();
      }),
    );
  }
  return durations;
}

/** Appends one entry per apply to a log that already holds `initialEntries`. */
async function appendOne(directory: string, initialEntries: number): Promise<number[]> {
  const storage = await RaftStorage.open(directory);
  const hardState = { term: 1, votedFor: "node1", commitIndex: 0 };
  const initial = Array.from({ length: initialEntries }, (_, i) => entry(i + 1));
  await storage.apply({ hardState, truncateFrom: null, append: initial, snapshot: null });
  const durations: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const request: PersistRequest = {
      hardState: null,
      truncateFrom: null,
      append: [entry(initialEntries + i + 1)],
      snapshot: null,
    };
    durations.push(await time(() => storage.apply(request)));
  }
  storage.close();
  return durations;
}

async function voteOnly(directory: string): Promise<number[]> {
  const storage = await RaftStorage.open(directory);
  await storage.load();
  const durations: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const hardState = { term: 2 + i, votedFor: `node${i % 3}`, commitIndex: 0 };
    durations.push(
      await time(() =>
        storage.apply({ hardState, truncateFrom: null, append: [], snapshot: null })
      ),
    );
  }
  storage.close();
  return durations;
}

async function main(): Promise<void> {
  const directory = await Deno.makeTempDir({
    prefix: "hactl_bench_",
    ...(values.parent ? { dir: values.parent } : {}),
  });
  try {
    console.log(`RaftStorage benchmark in ${directory}, ${iterations} iterations each`);
    summary("bare write + fsync of 100 bytes", await bareFsync(directory));
    summary("apply 1 entry, log of 10 entries", await appendOne(join(directory, "small"), 10));
    const full = join(directory, "full");
    const fullDurations = await appendOne(full, fullLogEntries);
    const stateBytes = (await Deno.stat(join(full, "raft_state"))).size;
    summary(
      `apply 1 entry, log of ${fullLogEntries} entries`,
      fullDurations,
      `  (raft_state ${stateBytes} bytes)`,
    );
    summary(
      `apply a vote only, log of ${fullLogEntries + iterations} entries`,
      await voteOnly(full),
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

await main();
