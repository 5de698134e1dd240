/**
 * Crash tests of RaftStorage with a real writer process killed by SIGKILL, and random
 * single-byte damage to the state files.
 *
 * The seed is printed; rerun with HACTL_SEED=<seed> to replay the same delays and bytes.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { StorageCorruptionError } from "../../src/storage/durable_file.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { expectedState, requestFor } from "./crash_plan.ts";
import { expectRejection, withTempDirectory } from "./test_helpers.ts";

const WRITER = new URL("./crash_writer.ts", import.meta.url).pathname;
/** The writer never reaches this step: it is always killed first. */
const WRITER_MAX_STEP = 1_000_000;
const MIN_KILL_ROUNDS = 20;
/** The last round lets the writer pass this step, so that installs and compactions happen. */
const MIN_FINAL_STEP = 120;
const MAX_KILL_DELAY_MS = 60;
/** Generous: a loaded machine may need long to start Deno and fsync MIN_FINAL_STEP times. */
const WRITER_PROGRESS_TIMEOUT_MS = 120_000;
const BYTE_FLIP_TRIALS = 60;

const seed = Number(Deno.env.get("HACTL_SEED") ?? Date.now() % 2 ** 31);
console.log(`raft_storage_crash_test seed ${seed} (replay with HACTL_SEED=${seed})`);

/** mulberry32: a small seeded generator, so that a failing run can be replayed. */
function seededRandom(initial: number): () => number {
  let state = initial >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface WriterReport {
  readonly lastStarted: number;
  readonly lastDurable: number;
}

/**
 * Runs the writer and SIGKILLs it `delayMs` after it reported step `killAfterStep` (or a
 * later one) durable; returns what it printed.
 */
async function runWriterUntilKilled(
  directory: string,
  killAfterStep: number,
  delayMs: number,
): Promise<WriterReport> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      WRITER,
      directory,
      String(WRITER_MAX_STEP),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let lastStarted = 0;
  let lastDurable = 0;
  let reached: () => void = () => {};
  const durableSeen = new Promise<void>((resolve) => reached = resolve);
  const stderr = new Response(child.stderr).text();
  const reading = (async () => {
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    let pending = "";
    for await (const chunk of lines) {
      pending += chunk;
      const complete = pending.split("\n");
      pending = complete.pop() ?? "";
      for (const line of complete) {
        const [word, step] = line.split(" ");
        if (word === "started") lastStarted = Number(step);
        if (word === "durable") lastDurable = Number(step);
        if (lastDurable >= killAfterStep) reached();
      }
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    durableSeen.then(() => "durable"),
    child.status.then(() => "exited"),
    new Promise((resolve) =>
      timer = setTimeout(() => resolve("timeout"), WRITER_PROGRESS_TIMEOUT_MS)
    ),
  ]);
  clearTimeout(timer);
  if (outcome === "durable") await new Promise((resolve) => setTimeout(resolve, delayMs));
  try {
    child.kill("SIGKILL");
  } catch {
    // Already exited; the assertion below reports why.
  }
  const status = await child.status;
  await reading;
  assert(outcome === "durable", `writer did not apply anything (${outcome}): ${await stderr}`);
  assertEquals(status.signal, "SIGKILL", `writer ended on its own: ${await stderr}`);
  return { lastStarted, lastDurable };
}

/** Loads the directory in this process: the step it holds, after checking it is complete. */
async function loadStep(directory: string): Promise<number> {
  const storage = await RaftStorage.open(directory);
  try {
    const state = await storage.load();
    const step = state?.hardState.term ?? 0;
    if (state !== null) assertEquals(state, expectedState(step), `state ${step} is torn or mixed`);
    return step;
  } finally {
    storage.close();
  }
}

Deno.test("a writer killed at random moments leaves the old or the new state, never a mix", async () => {
  const random = seededRandom(seed);
  await withTempDirectory("hactl_crash_", async (directory) => {
    let step = 0;
    let rounds = 0;
    let killedBetweenWriteAndReport = 0;
    while (rounds < MIN_KILL_ROUNDS || step < MIN_FINAL_STEP) {
      rounds += 1;
      // Every round is killed soon after its first durable step; a slow disk gets one
      // longer last round to pass MIN_FINAL_STEP, so the loop ends after at most one more.
      const killAfterStep = rounds <= MIN_KILL_ROUNDS ? step + 1 : MIN_FINAL_STEP;
      const delayMs = Math.floor(random() * MAX_KILL_DELAY_MS);
      const report = await runWriterUntilKilled(directory, killAfterStep, delayMs);
      const loaded = await loadStep(directory);
      assert(
        loaded >= Math.max(step, report.lastDurable) &&
          loaded <= Math.max(step, report.lastStarted),
        `round ${rounds}: loaded state ${loaded}, but the writer reported ${report.lastDurable} ` +
          `durable and started ${report.lastStarted} (previous state ${step}, seed ${seed})`,
      );
      if (loaded > report.lastDurable) killedBetweenWriteAndReport += 1;
      step = loaded;
      const names = [...Deno.readDirSync(directory)].map((entry) => entry.name);
      assert(!names.some((name) => name.endsWith(".tmp")), `temporary files left: ${names}`);
      assert(names.filter((name) => name.startsWith("raft_snapshot.")).length <= 1, `${names}`);
    }
    console.log(
      `${rounds} kills, final state ${step}, ${killedBetweenWriteAndReport} kills landed ` +
        `after a write became durable but before the writer reported it`,
    );
  });
});

Deno.test("one flipped byte anywhere in a state file is refused with StorageCorruptionError", async () => {
  const random = seededRandom(seed + 1);
  await withTempDirectory("hactl_flip_", async (directory) => {
    const storage = await RaftStorage.open(directory);
    for (let step = 1; step <= MIN_FINAL_STEP; step++) await storage.apply(requestFor(step));
    storage.close();
    const files = [...Deno.readDirSync(directory)].map((entry) => entry.name)
      .filter((name) => name.startsWith("raft_")).sort();
    assertEquals(files.length, 2, `expected raft_state and one snapshot file: ${files}`);
    for (let trial = 0; trial < BYTE_FLIP_TRIALS; trial++) {
      const name = files[Math.floor(random() * files.length)]!;
      const path = join(directory, name);
      const original = await Deno.readFile(path);
      const damaged = original.slice();
      const offset = Math.floor(random() * damaged.length);
      damaged[offset]! ^= 1 + Math.floor(random() * 255);
      await Deno.writeFile(path, damaged);
      const reader = await RaftStorage.open(directory);
      try {
        const error = await expectRejection(() => reader.load(), StorageCorruptionError);
        assert(error.message.includes(name), `message does not name ${name}: ${error.message}`);
      } finally {
        reader.close();
      }
      await Deno.writeFile(path, original);
    }
    assertEquals(await loadStep(directory), MIN_FINAL_STEP, "the restored files load again");
  });
});
