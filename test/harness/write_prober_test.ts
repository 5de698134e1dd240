// Proves the prober and the continuous writer against real Postgres servers: they record
// acknowledged writes with the right timeline, record failures once a server is stopped,
// follow a promotion to the new primary, and give the checkers histories on which a real lost
// row and a real second writer are caught.

import { assert, assertEquals } from "./test_assertions.ts";
import { checkAcknowledgedWrites, checkSingleWriter, type ProbeRecord } from "./checkers.ts";
import { ContinuousWriter, readWrittenIds, WRITE_TABLE } from "./continuous_writer.ts";
import { closeNow, openClient, type PostgresTarget } from "./postgres_client.ts";
import { createTestPostgres, type TestPostgres } from "./test_postgres.ts";
import { WriteProber } from "./write_prober.ts";

/** Generous deadlines for a loaded 2-core machine; polling ends as soon as the condition holds. */
const DEADLINE_MS = 30_000;

async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + DEADLINE_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function okCount(records: readonly ProbeRecord[], node: string, afterMs = 0): number {
  return records.filter((r) => r.node === node && r.outcome === "ok" && r.startMs >= afterMs)
    .length;
}

async function execute(server: TestPostgres, statement: string): Promise<void> {
  const client = openClient(server.target.connection, 5_000);
  try {
    await client.unsafe(statement);
  } finally {
    await closeNow(client);
  }
}

/** Inversion with real servers: the old primary restarts writable on timeline 1 (split brain). */
async function assertSplitBrainCaught(
  oldPrimary: TestPostgres,
  targets: readonly PostgresTarget[],
  earlierRecords: readonly ProbeRecord[],
): Promise<void> {
  await oldPrimary.start();
  const splitProber = new WriteProber(targets, { intervalMs: 20, attemptTimeoutMs: 1_000 });
  await splitProber.start();
  try {
    await waitUntil(
      "both nodes accept probe writes",
      () => okCount(splitProber.records, "a") >= 5 && okCount(splitProber.records, "b") >= 5,
    );
  } finally {
    await splitProber.stop();
  }
  const splitBrain = checkSingleWriter([...earlierRecords, ...splitProber.records]);
  assertEquals(splitBrain.ok, false);
  const kinds = new Set(splitBrain.violations.map((v) => v.kind));
  assert(kinds.has("stale-timeline") && kinds.has("overlap"), splitBrain.summary);
}

Deno.test("the prober records acknowledged writes on timeline 1, then failures after stop", async () => {
  const server = await createTestPostgres({ name: "solo" });
  try {
    await server.start();
    const prober = new WriteProber([server.target], { intervalMs: 20, attemptTimeoutMs: 1_000 });
    await prober.start();
    try {
      await waitUntil("5 probe writes succeed", () => okCount(prober.records, "solo") >= 5);
      await server.stop("immediate");
      const stoppedAtMs = performance.now();
      const failedAfterStop = () =>
        prober.records.filter((r) => r.startMs > stoppedAtMs && r.outcome !== "ok").length;
      await waitUntil("3 probes fail after the stop", () => failedAfterStop() >= 3);
    } finally {
      await prober.stop();
    }
    const records = prober.records;
    const successes = records.filter((r) => r.outcome === "ok");
    assert(successes.every((r) => r.timeline === 1), "a fresh cluster writes on timeline 1");
    assert(successes.every((r) => r.endMs >= r.startMs && r.error === null));
    const failure = records.find((r) => r.outcome !== "ok");
    assert(failure !== undefined && failure.error !== null, "a failure records its error text");
    assert(checkSingleWriter(records).ok, "one server is one writer");
  } finally {
    await server.destroy();
  }
});

Deno.test("writer and prober follow a promotion; checkers catch a lost row and two writers", async () => {
  const primary = await createTestPostgres({ name: "a" });
  let standby: TestPostgres | null = null;
  try {
    await primary.start();
    standby = await createTestPostgres({ name: "b", standbyOf: primary });
    await standby.start();
    const b = standby;
    // b first: the writer must skip it while it is in recovery, like libpq's read-write search.
    const targets = [b.target, primary.target];
    const writer = new ContinuousWriter(targets, { intervalMs: 5, writeTimeoutMs: 2_000 });
    const prober = new WriteProber(targets, { intervalMs: 20, attemptTimeoutMs: 1_000 });
    await writer.start();
    await prober.start();
    const acknowledgedOn = (node: string) =>
      writer.history.records.filter((r) => r.node === node && r.outcome === "acknowledged").length;
    try {
      assertEquals(writer.currentPrimary, "a");
      await waitUntil("20 writes acknowledged by a", () => acknowledgedOn("a") >= 20);
      // A fast shutdown sends all WAL to the standby before it exits, so nothing acked is lost.
      await primary.stop("fast");
      await b.promote();
      await waitUntil("20 writes acknowledged by b", () => acknowledgedOn("b") >= 20);
      await waitUntil("b probed on the new timeline", () => okCount(prober.records, "b") >= 5);
    } finally {
      await writer.stop();
      await prober.stop();
    }

    const history = writer.history.records;
    const rows = await readWrittenIds(b.target);
    const verdict = checkAcknowledgedWrites(history, [{ node: "b", ids: rows }]);
    assert(verdict.ok, verdict.summary);
    assert(verdict.acknowledgedCount >= 40, verdict.summary);
    const probeRecords = prober.records;
    const timelines = (node: string) =>
      new Set(
        probeRecords.filter((r) => r.node === node && r.outcome === "ok").map((r) => r.timeline),
      );
    assertEquals([...timelines("a")], [1]);
    assertEquals([...timelines("b")], [2]);
    const singleWriter = checkSingleWriter(probeRecords);
    assert(singleWriter.ok, singleWriter.summary);

    // Inversion with real rows: lose one acknowledged write and the checker names it.
    const lostId = history.find((r) => r.node === "b" && r.outcome === "acknowledged")?.id ?? -1;
    await execute(b, `DELETE FROM ${WRITE_TABLE} WHERE id = ${lostId}`);
    const lost = checkAcknowledgedWrites(history, [{
      node: "b",
      ids: await readWrittenIds(b.target),
    }]);
    assertEquals(lost.missing.map((m) => m.id), [lostId]);

    await assertSplitBrainCaught(primary, targets, probeRecords);
  } finally {
    await standby?.destroy();
    await primary.destroy();
  }
});
