/**
 * The refusal reporter's rate limit on a hand-driven clock: one report per source per interval,
 * the next report after it counts those left out, sources are independent, interval 0 reports
 * everything, and the number of sources remembered stays bounded.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { MAX_TRACKED_SOURCES, RefusalReporter } from "../../src/transport/refusal_reporter.ts";

Deno.test("one report per source per interval; the next one counts those left out", () => {
  let nowMs = 0;
  const reporter = new RefusalReporter(1_000, () => nowMs);
  assertEquals(reporter.admit("10.0.0.1", "bad frame"), "bad frame");
  assertEquals(reporter.admit("10.0.0.1", "bad frame"), null);
  assertEquals(reporter.admit("10.0.0.2", "other"), "other");
  nowMs = 999;
  assertEquals(reporter.admit("10.0.0.1", "bad frame"), null);
  nowMs = 1_000;
  assertEquals(
    reporter.admit("10.0.0.1", "bad frame"),
    "bad frame (2 more refusal(s) from 10.0.0.1 were not reported in the interval before)",
  );
  nowMs = 2_500;
  assertEquals(reporter.admit("10.0.0.1", "again"), "again");
});

Deno.test("interval 0 reports every refusal", () => {
  const reporter = new RefusalReporter(0, () => 0);
  for (let i = 0; i < 5; i++) assertEquals(reporter.admit("h", `r${i}`), `r${i}`);
});

Deno.test("the sources remembered are bounded; the stalest is forgotten first", () => {
  const reporter = new RefusalReporter(1_000, () => 0);
  for (let i = 0; i <= MAX_TRACKED_SOURCES; i++) reporter.admit(`h${i}`, "r");
  // h0 was forgotten (it is reported again at once); h1 is still within its interval.
  assertEquals(reporter.admit("h0", "r"), "r");
  assertEquals(reporter.admit(`h${MAX_TRACKED_SOURCES}`, "r"), null);
});
