// Proves the history checkers reject the histories they exist to catch (a lost acknowledged
// write, two overlapping writers, a write on an old timeline after a newer primary wrote) and
// accept correct ones; the single-writer sweep is compared with a brute-force reference.

import fc from "fast-check";
import { assert, assertEquals } from "./test_assertions.ts";
import { checkAcknowledgedWrites, checkSingleWriter, type ProbeRecord } from "./checkers.ts";
import { WriteHistory, type WriteRecord } from "./write_history.ts";

function write(id: number, outcome: WriteRecord["outcome"], node = "a"): WriteRecord {
  return { id, node, startMs: id * 10, endMs: id * 10 + 5, outcome, error: null };
}

function probe(
  node: string,
  startMs: number,
  endMs: number,
  timeline: number | null = 1,
  outcome: ProbeRecord["outcome"] = "ok",
): ProbeRecord {
  return { node, seq: Math.round(startMs), startMs, endMs, outcome, timeline, error: null };
}

Deno.test("acknowledged writes: a lost acknowledged write is reported with its id and node", () => {
  const history = [write(1, "acknowledged"), write(2, "acknowledged"), write(3, "acknowledged")];
  const result = checkAcknowledgedWrites(history, [
    { node: "b", ids: [1, 3] },
    { node: "c", ids: [1] },
  ]);
  assertEquals(result.ok, false);
  assertEquals(
    result.missing.map((m) => [m.id, m.missingOn]),
    [[2, ["b", "c"]], [3, ["c"]]],
  );
});

Deno.test("acknowledged writes: unknown outcomes may be present or absent; all acked present", () => {
  const history = [
    write(1, "acknowledged"),
    write(2, "unknown"),
    write(3, "unknown"),
    write(4, "failed"),
    write(5, "pending"),
    write(6, "acknowledged", "b"),
  ];
  const result = checkAcknowledgedWrites(history, [{ node: "b", ids: [1, 2, 6] }]);
  assert(result.ok, result.summary);
  assertEquals([result.acknowledgedCount, result.unknownPresent, result.unknownAbsent], [2, 1, 2]);
});

Deno.test("acknowledged writes: a failed or never-attempted write that appears is a phantom", () => {
  const history = [write(1, "acknowledged"), write(2, "failed")];
  const result = checkAcknowledgedWrites(history, [{ node: "a", ids: [1, 2, 99] }]);
  assertEquals(result.ok, false);
  assertEquals(result.phantom.map((p) => [p.id, p.reason]), [[2, "failed"], [
    99,
    "never-attempted",
  ]]);
});

Deno.test("WriteHistory records outcomes once and refuses reused ids", () => {
  let nowMs = 0;
  const history = new WriteHistory(10, () => nowMs);
  history.begin(1, "a");
  nowMs = 7;
  history.finish(1, "acknowledged");
  history.begin(2, null);
  assertEquals(history.records[0], {
    id: 1,
    node: "a",
    startMs: 0,
    endMs: 7,
    outcome: "acknowledged",
    error: null,
  });
  assertEquals(history.summary(), { acknowledged: 1, failed: 0, unknown: 0, pending: 1 });
  let reuse = "";
  try {
    history.begin(1, "b");
  } catch (error) {
    reuse = String(error);
  }
  assert(reuse.includes("already used"), reuse);
});

Deno.test("single writer: two nodes acknowledging overlapping writes is a violation", () => {
  const result = checkSingleWriter([probe("a", 0, 10), probe("a", 20, 30), probe("b", 25, 40)]);
  assertEquals(result.ok, false);
  assertEquals(result.violationCount, 1);
  const violation = result.violations[0];
  assert(violation?.kind === "overlap", result.summary);
  assertEquals([violation.first.node, violation.second.node, violation.overlapMs], ["a", "b", 5]);
});

Deno.test("single writer: a write on an old timeline after a newer primary wrote is a violation", () => {
  const result = checkSingleWriter([
    probe("a", 0, 10, 1),
    probe("b", 20, 30, 2),
    probe("a", 40, 50, 1), // the deposed primary accepts a write after b wrote on timeline 2
  ]);
  assertEquals(result.ok, false);
  const violation = result.violations[0];
  assert(violation?.kind === "stale-timeline", result.summary);
  assertEquals([violation.stale.startMs, violation.newer.node], [40, "b"]);
});

Deno.test("single writer: a clean failover, failures and a write on a new timeline are fine", () => {
  const result = checkSingleWriter([
    probe("a", 0, 10, 1),
    probe("b", 0, 12, null, "error"), // a standby refuses: overlapping failures do not count
    probe("a", 20, 800, null, "timeout"),
    probe("b", 30, 40, 2),
    probe("c", 35, 45, null, "error"),
    probe("b", 50, 60, 2),
    probe("a", 70, 80, 3), // a later promotion back to a on a newer timeline
  ]);
  assert(result.ok, result.summary);
  assertEquals(result.successfulWrites, 4);
});

/**
 * The obvious quadratic definition of both rules: every overlapping pair of writes on two nodes,
 * and every (stale write, other node) where that node had finished a write on a newer timeline.
 */
function referenceViolationCount(probes: readonly ProbeRecord[]): number {
  const successes = probes.filter((p) => p.outcome === "ok");
  let count = 0;
  successes.forEach((x, xIndex) => {
    successes.forEach((y, yIndex) => {
      const xFirst = x.startMs < y.startMs || (x.startMs === y.startMs && xIndex < yIndex);
      if (x.node !== y.node && xFirst && x.endMs > y.startMs) count += 1;
    });
    const nodes = new Set(successes.map((p) => p.node));
    for (const node of nodes) {
      if (node === x.node || x.timeline === null) continue;
      const newer = successes.some((y) =>
        y.node === node && y.timeline !== null && y.timeline > (x.timeline ?? 0) &&
        y.endMs <= x.startMs
      );
      if (newer) count += 1;
    }
  });
  return count;
}

Deno.test("single writer: the sweep counts the same violations as a brute-force reference", () => {
  const probeArbitrary = fc.record({
    node: fc.constantFrom("a", "b", "c"),
    startMs: fc.integer({ min: 0, max: 200 }),
    lengthMs: fc.integer({ min: 0, max: 40 }),
    timeline: fc.option(fc.integer({ min: 1, max: 4 })),
    ok: fc.boolean(),
  }).map((p) =>
    probe(p.node, p.startMs, p.startMs + p.lengthMs, p.timeline, p.ok ? "ok" : "error")
  );
  fc.assert(
    fc.property(fc.array(probeArbitrary, { maxLength: 25 }), (probes) => {
      const result = checkSingleWriter(probes, { maxReportedViolations: 1_000 });
      assertEquals(result.violationCount, referenceViolationCount(probes));
    }),
    { numRuns: 300 },
  );
});
