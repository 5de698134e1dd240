/**
 * Timeline histories and rejoin plans without a server: history files parse as Postgres
 * writes them and a damaged one is an error naming the file (never an empty history); the
 * timeline of WAL is the highest one among the segment files holding its last byte; the
 * rejoin plan follows, rewinds or re-clones by comparing histories, never timeline numbers.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import type { WalPosition } from "../../src/core/types.ts";
import { planRejoin, planRejoinAll } from "../../src/postgres/rejoin_plan.ts";
import {
  historyFileName,
  parseTimelineHistory,
  parseWalSegmentName,
  readTimelineHistory,
  timelineHoldingEnd,
} from "../../src/postgres/timeline_history.ts";

const SEGMENT = 16 * 1024 * 1024;

function throwsWith(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (error) {
    assert(pattern.test(String(error)), `error "${error}" does not match ${pattern}`);
    return;
  }
  throw new Error(`expected an error matching ${pattern}`);
}

Deno.test("a history file parses as Postgres writes it; damage is an error naming the file", () => {
  const text = "1\t0/4004118\tno recovery target specified\n\n# comment\n" +
    "2\t0/40241B0\tno recovery target specified\n";
  assertEquals(parseTimelineHistory(text, 3, "00000003.history"), [
    { timeline: 1, endLsn: 0x4004118 },
    { timeline: 2, endLsn: 0x40241B0 },
  ]);
  assertEquals(parseTimelineHistory("", 1, "none"), []);
  assertEquals(historyFileName(26), "0000001A.history");
  const damaged: Array<[string, number, RegExp]> = [
    ["1\tnot-an-lsn\treason\n", 2, /line 1 .*expected a timeline id/],
    ["2\t0/1\tx\n1\t0/2\tx\n", 3, /line 2 .*does not follow 2/],
    ["1\t0/5\tx\n2\t0/4\tx\n", 3, /switch point 0\/4 is before 0\/5/],
    ["3\t0/5\tx\n", 3, /timeline 3 is not below 3/],
    ["# only a comment\n", 2, /names no ancestor of timeline 2/],
    ["\u0000\u0000garbage", 2, /damaged: re-clone/],
  ];
  for (const [bad, timeline, pattern] of damaged) {
    throwsWith(() => parseTimelineHistory(bad, timeline, "pg_wal/x.history"), pattern);
    throwsWith(() => parseTimelineHistory(bad, timeline, "pg_wal/x.history"), /pg_wal\/x\.history/);
  }
});

Deno.test("a missing history file of a timeline above 1 is an error, timeline 1 has none", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl_history_" });
  try {
    await Deno.mkdir(`${directory}/pg_wal`);
    assertEquals(await readTimelineHistory(directory, 1), []);
    const missing = await assertRejects(readTimelineHistory(directory, 3));
    assert(/00000003\.history.*re-clone this node/.test(missing.message), missing.message);
    await Deno.writeTextFile(`${directory}/pg_wal/00000003.history`, "1\t0/10\tx\n2\t0/20\tx\n");
    assertEquals((await readTimelineHistory(directory, 3)).length, 2);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("the timeline of WAL is the highest among the segment files holding its last byte", () => {
  // As seen on a standby that followed two promotions at segment 4 (wal_position_test.ts),
  // plus a recycled timeline-1 segment ahead and files that are not segments.
  const names = [
    "000000010000000000000003",
    "000000010000000000000004",
    "000000020000000000000004",
    "000000030000000000000004",
    "000000030000000000000005",
    "000000010000000000000006",
    "000000020000000000000004.partial",
    "00000003.history",
  ];
  const segments = names.map((name) => parseWalSegmentName(name, SEGMENT)).filter((s) =>
    s !== null
  );
  assertEquals(segments.length, 6);
  assertEquals(parseWalSegmentName("0000000A0000000100000002", SEGMENT), {
    timeline: 10,
    startLsn: 2 ** 32 + 2 * SEGMENT,
  });
  assertEquals(timelineHoldingEnd(segments, 4 * SEGMENT + 100, SEGMENT), 3);
  assertEquals(timelineHoldingEnd(segments, 5 * SEGMENT, SEGMENT), 3, "end at a boundary");
  assertEquals(timelineHoldingEnd(segments, 5 * SEGMENT + 1, SEGMENT), 3);
  assertEquals(timelineHoldingEnd(segments, 3 * SEGMENT + 1, SEGMENT), 1);
  assertEquals(timelineHoldingEnd(segments, 6 * SEGMENT + 1, SEGMENT), 1, "only the recycled one");
  assertEquals(timelineHoldingEnd(segments, 8 * SEGMENT, SEGMENT), null);
});

const at = (timeline: number, lsn: number, ends: number[] = []): WalPosition => ({
  timeline,
  lsn,
  history: ends.map((endLsn, index) => ({ timeline: index + 1, endLsn })),
});

Deno.test("the rejoin plan compares histories, not timeline numbers", () => {
  // Source on timeline 3: timeline 1 ended at 100, timeline 2 at 200.
  const source = at(3, 500, [100, 200]);
  assertEquals(planRejoin(at(1, 90), source).kind, "follow");
  assertEquals(planRejoin(at(1, 100), source).kind, "follow");
  const past = planRejoin(at(1, 150), source);
  assertEquals(past.kind, "rewind");
  assertEquals(past.kind === "rewind" && past.forkLsn, 100);
  assertEquals(planRejoin(at(2, 180, [100]), source).kind, "follow");
  assertEquals(planRejoin(at(3, 400, [100, 200]), source).kind, "follow");
  const onward = planRejoin(at(3, 400, [100, 150]), at(4, 500, [100, 150, 300]));
  assertEquals(onward.kind === "rewind" && onward.forkLsn, 300, "past the end of timeline 3");
  const sibling = planRejoin(at(3, 400, [100, 150]), at(4, 500, [100, 200, 300]));
  assertEquals(sibling.kind === "rewind" && sibling.forkLsn, 150, "timeline 2 forked twice");
  // Same id, different histories (two promotions from timeline 2): pg_rewind sees nothing.
  assertEquals(planRejoin(at(3, 400, [100, 150]), source).kind, "clone");
  assertEquals(planRejoin(at(3, 600, [100, 200]), source).kind, "clone", "ahead of the source");
  const unrelated = { timeline: 5, lsn: 10, history: [{ timeline: 4, endLsn: 5 }] };
  assertEquals(planRejoin(unrelated, source).kind, "clone");
  // The end of WAL is on the source's history, the data files replayed past the fork.
  const both = planRejoinAll([at(3, 400, [100, 200]), at(1, 150)], source);
  assertEquals(both.kind, "rewind");
  assertEquals(planRejoinAll([at(1, 50), at(3, 600, [100, 200])], source).kind, "clone");
});
