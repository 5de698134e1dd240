// Proves the chaos checkers reject bad histories and accept good ones, without a cluster:
// each violation (a lost acknowledged write, a phantom failed write, two nodes writing at
// once, a write on a stale timeline, a forked timeline, one timeline id with two histories on
// the nodes) is fabricated and must be reported; a clean failover history, and an untrusted
// server clock, must not be.

import { assert, assertEquals } from "../harness/test_assertions.ts";
import type { ChaosWrite } from "./chaos_history.ts";
import { formatRecordLine, parseRecordLines } from "./chaos_history.ts";
import { findLostWrites, findWriterOverlaps } from "./chaos_checkers.ts";
import { findHistoryForks } from "./timeline_histories.ts";

/** An acknowledged write of `node` on `timeline`, sent at `startMs`, acknowledged at `endMs`. */
function ack(
  id: number,
  node: string,
  timeline: number,
  startMs: number,
  endMs: number,
  serverMs: number | null = null,
): ChaosWrite {
  return {
    client: "test",
    id,
    via: node,
    node,
    startMs,
    endMs,
    outcome: "acknowledged",
    serverMs,
    timeline,
    error: null,
  };
}

/** node1 writes on timeline 1 until 100 ms, node2 from 200 ms on timeline 2: a clean failover. */
function cleanFailover(): ChaosWrite[] {
  return [
    ack(1, "node1", 1, 0, 10),
    ack(2, "node1", 1, 50, 60),
    ack(3, "node1", 1, 90, 100),
    { ...ack(4, "node1", 1, 95, 150), outcome: "unknown", node: null, timeline: null },
    ack(5, "node2", 2, 200, 210),
    ack(6, "node2", 2, 250, 260),
  ];
}

Deno.test("findLostWrites reports an acknowledged write missing from the final primary", () => {
  const writes = cleanFailover();
  const good = findLostWrites(writes, [1, 2, 3, 5, 6]);
  assertEquals(good.lost.length, 0);
  assertEquals(good.acknowledged, 5);
  assertEquals(good.unknownAbsent, 1);
  const bad = findLostWrites(writes, [1, 2, 5, 6]);
  assertEquals(bad.lost.map((write) => write.id), [3]);
});

Deno.test("findLostWrites reports a definitely failed write that is present", () => {
  const writes = [...cleanFailover(), {
    ...ack(7, "node2", 2, 300, 310),
    outcome: "failed" as const,
  }];
  assertEquals(findLostWrites(writes, [1, 2, 3, 5, 6]).phantom.length, 0);
  assertEquals(findLostWrites(writes, [1, 2, 3, 5, 6, 7]).phantom.map((w) => w.id), [7]);
});

Deno.test("findWriterOverlaps accepts a clean failover and reports its reigns", () => {
  const result = findWriterOverlaps(cleanFailover());
  assertEquals(result.windows.length, 0);
  assertEquals(result.stale.length, 0);
  assertEquals(result.forked.length, 0);
  assertEquals(result.reigns, ["node1@1", "node2@2"]);
  assertEquals(result.examined, 5);
});

Deno.test("findWriterOverlaps reports a node writing inside another node's reign", () => {
  // node2 (promoted on timeline 2) acknowledges at 120..130 while node1 acknowledges on
  // timeline 1 before (by 100) and after (from 140): two writers at once.
  const writes = [...cleanFailover(), ack(8, "node2", 2, 120, 130), ack(9, "node1", 1, 140, 145)];
  const result = findWriterOverlaps(writes);
  assertEquals(result.windows.length, 1);
  const window = result.windows[0];
  assertEquals(window?.holder, "node1");
  assertEquals(window?.intruder, "node2");
  assertEquals(window?.firstId, 8);
  // node1's write at 140 also lies inside node2's reign: the same two writers, one window.
  assertEquals([window?.startMs, window?.endMs, window?.writes], [120, 145, 2]);
});

Deno.test("findWriterOverlaps does not call intervals that merely overlap a violation", () => {
  // node2's write at 95..135 may have committed after node1's last commit (by 100): the client
  // intervals overlap, but nothing proves two writers at once.
  const writes = [...cleanFailover(), ack(8, "node2", 2, 95, 135)];
  assertEquals(findWriterOverlaps(writes).windows.length, 0);
  // The server's own clock narrows it: executed at 120, and node1 wrote again at 137.
  const narrowed = [
    ...writes.slice(0, -1),
    ack(8, "node2", 2, 95, 135, 120),
    ack(9, "node1", 1, 137, 139),
  ];
  assertEquals(findWriterOverlaps(narrowed).windows.length, 1);
});

Deno.test("findWriterOverlaps clamps a skewed server clock into the client's interval", () => {
  // node2's server clock says 10 000 (skewed): clamped to the acknowledgement at 260, so its
  // write cannot be placed inside node1's reign, whose last certain commit is at 90.
  const writes = [...cleanFailover(), ack(8, "node2", 2, 230, 260, 10_000)];
  assertEquals(findWriterOverlaps(writes).windows.length, 0);
});

Deno.test("findWriterOverlaps reports a write on an older timeline after a newer one", () => {
  // The deposed node1 acknowledges on timeline 1 at 300, after node2 wrote on timeline 2.
  const writes = [ack(5, "node2", 2, 200, 210), ack(6, "node1", 1, 300, 310)];
  const result = findWriterOverlaps(writes);
  assertEquals(result.stale.length, 1);
  assertEquals(result.stale[0]?.write.id, 6);
  assertEquals(result.stale[0]?.newer.id, 5);
  // The other order is a failover, not a stale write.
  assertEquals(
    findWriterOverlaps([ack(6, "node1", 1, 0, 10), ack(5, "node2", 2, 20, 30)]).stale.length,
    0,
  );
});

Deno.test("findWriterOverlaps reports two nodes writing on one timeline", () => {
  const writes = [ack(1, "node1", 3, 0, 10), ack(2, "node3", 3, 500, 510)];
  assertEquals(findWriterOverlaps(writes).forked, [{ timeline: 3, nodes: ["node1", "node3"] }]);
});

Deno.test("record lines round-trip and other log lines are skipped", () => {
  const writes = cleanFailover();
  const text = ["starting", ...writes.map(formatRecordLine), "chaos-write {cut"].join("\n");
  const parsed = parseRecordLines(text);
  assertEquals(parsed, writes);
  assert(parsed.length === 6, "six records");
});

Deno.test("findHistoryForks reports one timeline id promoted twice with different histories", () => {
  const parent = "1\t0/3000000\tno recovery target specified\n";
  const node2 = new Map([[2, parent], [
    3,
    `${parent}2\t0/5000148\tno recovery target specified\n`,
  ]]);
  const node3 = new Map([[2, parent], [
    3,
    `${parent}2\t0/50A1B20\tno recovery target specified\n`,
  ]]);
  const agreeing = new Map([[2, parent]]);
  assertEquals(
    findHistoryForks([{ node: "node2", histories: node2 }, { node: "node1", histories: agreeing }]),
    [],
  );
  const forks = findHistoryForks([
    { node: "node2", histories: node2 },
    { node: "node3", histories: node3 },
    { node: "node1", histories: agreeing },
  ]);
  assertEquals(forks.map((fork) => fork.timeline), [3]);
  assertEquals(forks[0]?.variants.map((variant) => variant.forkLine.split("\t")[1]), [
    "0/5000148",
    "0/50A1B20",
  ]);
});
