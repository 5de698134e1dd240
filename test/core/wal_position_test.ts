/**
 * Positions relate by timeline history: "behind" means "on my history and earlier", never
 * "lower timeline number"; same timeline number with different histories is "diverged";
 * a timeline whose tail a later promotion replaced is "superseded". Checked by hand on the
 * cases of issue 9 and against a byte-by-byte reference on random small histories.
 */
import fc from "fast-check";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  commonWalBytes,
  lagBytes,
  MAX_HISTORY_LINES,
  relateWalPositions,
  type WalPosition,
  type WalRelation,
  withRecentHistory,
} from "../../src/core/mod.ts";
import { at } from "./helpers.ts";

/** Cluster history used below: timeline 1 until 100, 2 until 300, then 3. */
const ON_3 = [[1, 100], [2, 300]] as const;

Deno.test("equal, behind and ahead along one history", () => {
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(3, 400, ON_3)), "equal");
  assertEquals(relateWalPositions(at(3, 350, ON_3), at(3, 400, ON_3)), "behind");
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(3, 350, ON_3)), "ahead");
  // An older timeline that stopped at or before its switch point is on the newer history.
  assertEquals(relateWalPositions(at(2, 250, [[1, 100]]), at(3, 400, ON_3)), "behind");
  assertEquals(relateWalPositions(at(2, 300, [[1, 100]]), at(3, 400, ON_3)), "behind");
  assertEquals(relateWalPositions(at(1, 80), at(3, 400, ON_3)), "behind");
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(1, 80)), "ahead");
});

Deno.test("issue 9, D1: a lower timeline number far ahead is not behind a higher one", () => {
  // Voter on timeline 3 at 900; candidate on timeline 3 at 400: the voter is ahead.
  assertEquals(relateWalPositions(at(3, 900, ON_3), at(3, 400, ON_3)), "ahead");
  // The same voter reporting the stale timeline of its last restartpoint (1) with the true
  // LSN: its "timeline 1" ends at 100 in the candidate's history, below 900. Never "behind".
  assertEquals(relateWalPositions(at(1, 900), at(3, 400, ON_3)), "superseded");
});

Deno.test("superseded: our timeline's tail was replaced by a promotion", () => {
  // The deposed primary of timeline 2 wrote on to 500; timeline 3 forked at 300.
  assertEquals(relateWalPositions(at(2, 500, [[1, 100]]), at(3, 400, ON_3)), "superseded");
  assertEquals(relateWalPositions(at(2, 500, [[1, 100]]), at(3, 310, ON_3)), "superseded");
  // Seen from the newer timeline, the older one is neither behind nor ahead.
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(2, 500, [[1, 100]])), "diverged");
});

Deno.test("diverged: siblings, and one timeline number with two histories", () => {
  // Timelines 3 and 4 both forked from 2, at 300 and at 350.
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(4, 400, [[1, 100], [2, 350]])), "diverged");
  // Two promotions that both picked the id 3, forked from 2 at different points.
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(3, 400, [[1, 100], [2, 250]])), "diverged");
  assertEquals(relateWalPositions(at(3, 400, ON_3), at(3, 400, [[1, 50], [2, 300]])), "diverged");
  // ... but below the earlier fork they agree.
  assertEquals(
    relateWalPositions(at(2, 240, [[1, 100]]), at(3, 400, [[1, 100], [2, 250]])),
    "behind",
  );
});

Deno.test("lag is a byte count only on the reference's history", () => {
  assertEquals(lagBytes(at(3, 350, ON_3), at(3, 400, ON_3)), 50);
  assertEquals(lagBytes(at(2, 250, [[1, 100]]), at(3, 400, ON_3)), 150);
  assertEquals(lagBytes(at(3, 400, ON_3), at(3, 400, ON_3)), 0);
  assertEquals(lagBytes(at(3, 450, ON_3), at(3, 400, ON_3)), null, "ahead");
  assertEquals(lagBytes(at(2, 500, [[1, 100]]), at(3, 400, ON_3)), null, "superseded");
  assertEquals(lagBytes(at(4, 380, [[1, 100], [2, 350]]), at(3, 400, ON_3)), null, "diverged");
});

/** The owner of every byte, one by one: the reference the segment walk is checked against. */
function ownersOf(position: WalPosition): number[] {
  return Array.from({ length: position.lsn }, (_, byte) => {
    const line = position.history.find((switchPoint) => byte < switchPoint.endLsn);
    return line === undefined ? position.timeline : line.timeline;
  });
}

function referenceRelation(a: WalPosition, b: WalPosition): WalRelation {
  const ownersA = ownersOf(a);
  const ownersB = ownersOf(b);
  let common = 0;
  while (common < Math.min(a.lsn, b.lsn) && ownersA[common] === ownersB[common]) common++;
  if (common === a.lsn && common === b.lsn) return "equal";
  if (common === a.lsn) return "behind";
  if (common === b.lsn) return "ahead";
  const line = b.history.find((switchPoint) => switchPoint.timeline === a.timeline);
  if (line !== undefined && a.lsn > line.endLsn && common >= line.endLsn) return "superseded";
  return "diverged";
}

/** Small positions on histories drawn from a few timelines and switch points. */
const smallPosition: fc.Arbitrary<WalPosition> = fc.record({
  timeline: fc.integer({ min: 1, max: 5 }),
  lsn: fc.nat({ max: 12 }),
  ancestors: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
  ends: fc.array(fc.nat({ max: 12 }), { minLength: 3, maxLength: 3 }),
}).map(({ timeline, lsn, ancestors, ends }) => {
  const lines = ancestors.filter((ancestor) => ancestor < timeline).sort((x, y) => x - y);
  const sortedEnds = ends.slice(0, lines.length).sort((x, y) => x - y);
  return at(timeline, lsn, lines.map((ancestor, index) => [ancestor, sortedEnds[index]!]));
});

Deno.test("property: the relation matches a byte-by-byte reference", () => {
  fc.assert(
    fc.property(smallPosition, smallPosition, (a, b) => {
      assertEquals(relateWalPositions(a, b), referenceRelation(a, b));
      const common = commonWalBytes(a, b);
      assertEquals(common, commonWalBytes(b, a));
    }),
    { numRuns: 5000 },
  );
});

Deno.test("property: equal, behind and ahead mirror each other", () => {
  const mirror: Record<WalRelation, WalRelation | null> = {
    equal: "equal",
    behind: "ahead",
    ahead: "behind",
    superseded: null,
    diverged: null,
  };
  fc.assert(
    fc.property(smallPosition, smallPosition, (a, b) => {
      const expected = mirror[relateWalPositions(a, b)];
      if (expected !== null) assertEquals(relateWalPositions(b, a), expected);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("a history longer than MAX_HISTORY_LINES keeps its newest lines", () => {
  const lines = Array.from(
    { length: MAX_HISTORY_LINES + 6 },
    (_, index) => [index + 1, index * 10] as const,
  );
  const long = at(MAX_HISTORY_LINES + 7, 10_000, lines);
  const cut = withRecentHistory(long);
  assertEquals(cut.history.length, MAX_HISTORY_LINES);
  assertEquals(cut.history[0], { timeline: 7, endLsn: 60 });
  assertEquals(withRecentHistory(cut), cut);
  // Two positions on this history, both cut, still relate by their recent history.
  assertEquals(relateWalPositions(withRecentHistory({ ...long, lsn: 9_000 }), cut), "behind");
});
