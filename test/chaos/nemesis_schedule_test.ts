// Proves a nemesis schedule is a pure function of its seed (the printed seed replays it), that
// seeds differ, that a short schedule injects every kind, and that bounds are respected.

import { assert, assertEquals } from "../harness/test_assertions.ts";
import { describeSchedule, FAULT_KINDS, makeSchedule } from "./nemesis_schedule.ts";
import { SHORT_SCHEDULE } from "./chaos_options.ts";

Deno.test("one seed gives one schedule; another seed another", () => {
  const first = makeSchedule(42, SHORT_SCHEDULE);
  assertEquals(makeSchedule(42, SHORT_SCHEDULE), first);
  assertEquals(describeSchedule(makeSchedule(42, SHORT_SCHEDULE)), describeSchedule(first));
  assert(
    JSON.stringify(makeSchedule(43, SHORT_SCHEDULE).steps) !== JSON.stringify(first.steps),
    "seeds 42 and 43 gave the same schedule",
  );
});

Deno.test("a schedule of one round injects every kind, within the bounds", () => {
  for (const seed of [0, 1, 7, 2 ** 32 - 1]) {
    const schedule = makeSchedule(seed, { ...SHORT_SCHEDULE, steps: FAULT_KINDS.length });
    assertEquals(new Set(schedule.steps.map((step) => step.kind)).size, FAULT_KINDS.length);
    for (const step of schedule.steps) {
      assert(step.holdMs >= SHORT_SCHEDULE.minHoldMs && step.holdMs <= SHORT_SCHEDULE.maxHoldMs);
      assert(step.gapMs >= SHORT_SCHEDULE.minGapMs && step.gapMs <= SHORT_SCHEDULE.maxGapMs);
      assert(Math.abs(step.skewMs) <= SHORT_SCHEDULE.maxSkewMs);
      if (step.kind === "stall-standby") assertEquals(step.target, "standby");
    }
  }
});

Deno.test("a bad bound is refused with the value", () => {
  let message = "";
  try {
    makeSchedule(1, { ...SHORT_SCHEDULE, minHoldMs: 9_000, maxHoldMs: 1_000 });
  } catch (error) {
    message = String(error);
  }
  assert(message.includes("9000"), `message names the bad value: ${message}`);
});
