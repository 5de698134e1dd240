/**
 * The scheduled switchover on the leader's side: the time is parsed strictly (zone required,
 * past and far future refused); at its time only the leader that scheduled it runs it (any
 * other leader drops it, a late one is dropped as stale, a paused cluster waits); running it
 * removes the schedule (committed) before the transfer is requested, and every outcome is
 * recorded. The real agent is exercised on a real cluster in
 * test/cluster/scheduled_switchover_test.ts.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createNode, defaultCoreConfig, type NodeState } from "../../src/core/mod.ts";
import type { AdminRequest } from "../../src/core/types.ts";
import { INITIAL_CLUSTER_STATE } from "../../src/core/cluster_state.ts";
import {
  readSwitchoverOutcome,
  SCHEDULED_SWITCHOVER_KEY,
  type ScheduledSwitchover,
  scheduleTimeMs,
  SWITCHOVER_OUTCOME_KEY,
} from "../../src/agent/scheduled_switchover.ts";
import {
  decideScheduledSwitchover,
  STALE_SCHEDULE_MS,
  SwitchoverScheduler,
} from "../../src/agent/switchover_scheduler.ts";
import type { AdminResult } from "../../src/agent/agent_handle.ts";
import { DecisionLog } from "../../src/agent/decision_log.ts";
import { SCHEDULE_CHANGES } from "../../src/agent/schedule_changes.ts";
import { CapturingLogger } from "../postgres/capturing_logger.ts";

const AT = "2026-05-01T04:00:00+02:00";
const AT_MS = Date.parse("2026-05-01T02:00:00Z");

function scheduled(from = "n1", candidate: string | null = "n2"): Record<string, string> {
  const value: ScheduledSwitchover = { at: AT, from, candidate, scheduledAtIso: "x" };
  return { [SCHEDULED_SWITCHOVER_KEY]: JSON.stringify(value) };
}

Deno.test("the schedule's time needs a zone, lies ahead, and at most 7 days ahead", () => {
  const now = AT_MS - 60_000;
  assertEquals(scheduleTimeMs(AT, now), AT_MS);
  assertEquals(scheduleTimeMs("2026-05-01T02:00:00Z", now), AT_MS);
  assertEquals(scheduleTimeMs("2026-05-01 04:00+0200", now), AT_MS);
  assert(String(scheduleTimeMs("2026-05-01T02:00:00", now)).includes("time zone"));
  assert(String(scheduleTimeMs("tomorrow", now)).includes("time zone"));
  assert(String(scheduleTimeMs("2026-02-31T02:00:00Z", now)).includes("not a valid"));
  assert(String(scheduleTimeMs(AT, AT_MS)).includes("in the past"));
  assert(String(scheduleTimeMs(AT, AT_MS - 8 * 24 * 3_600_000)).includes("7 days"));
});

Deno.test("at its time only the scheduling leader runs it; others drop it; late is stale", () => {
  const decide = (
    keyValues: Record<string, string>,
    leaderId: string,
    nowMs: number,
    paused = false,
  ) => decideScheduledSwitchover({ keyValues, leaderId, paused, nowMs }).kind;
  assertEquals(decide({}, "n1", AT_MS), "none");
  assertEquals(decide(scheduled(), "n1", AT_MS - 1), "wait");
  assertEquals(decide(scheduled(), "n1", AT_MS), "run");
  assertEquals(decide(scheduled(), "n1", AT_MS, true), "wait", "paused: it waits");
  assertEquals(decide(scheduled(), "n3", AT_MS - 1), "wait", "the rule applies at the time");
  const moved = decideScheduledSwitchover({
    keyValues: scheduled(),
    leaderId: "n3",
    paused: false,
    nowMs: AT_MS + 1000,
  });
  assertEquals(moved.kind, "drop");
  assert(moved.kind === "drop" && moved.reason.includes("no longer n1"), JSON.stringify(moved));
  assertEquals(decide(scheduled(), "n1", AT_MS + STALE_SCHEDULE_MS + 1), "drop");
  assertEquals(decide({ [SCHEDULED_SWITCHOVER_KEY]: "junk" }, "n1", AT_MS), "drop");
});

/**
 * A scheduler over the core state `state.now`, whose core answers from `answers` by request
 * kind, recording every request.
 */
function harness(
  initial: NodeState,
  answers: Partial<Record<string, AdminResult>> = {},
) {
  const requests: AdminRequest[] = [];
  const log = new CapturingLogger("n1");
  const state = { now: initial };
  const submit = (request: AdminRequest) => {
    requests.push(request);
    const ok: AdminResult = { ok: true, error: null, leaderHint: null };
    return Promise.resolve(answers[request.kind] ?? ok);
  };
  const decisions = new DecisionLog(log);
  const scheduler = new SwitchoverScheduler("n1", () => state.now, submit, decisions, log);
  return { requests, log, scheduler, state };
}

function leaderWith(keyValues: Record<string, string>): NodeState {
  const node = createNode("n1", defaultCoreConfig(), null, 0);
  return { ...node, role: "leader", applied: { ...INITIAL_CLUSTER_STATE, keyValues } };
}

async function settle(): Promise<void> {
  for (let round = 0; round < 20; round++) await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
}

function describe(request: AdminRequest): string {
  if (request.kind === "transfer") return `transfer ${request.target}`;
  if (request.kind !== "propose" || request.command.kind !== "kv") return request.kind;
  const outcome = request.command.value === null
    ? null
    : readSwitchoverOutcome({ [SWITCHOVER_OUTCOME_KEY]: request.command.value });
  return `${request.command.key}=${outcome?.outcome ?? request.command.value ?? "deleted"}`;
}

Deno.test("running removes the schedule first, records it started, then asks for the transfer", async () => {
  const { requests, scheduler } = harness(leaderWith(scheduled()));
  scheduler.check(AT_MS);
  scheduler.check(AT_MS + 10); // busy: not started twice
  await settle();
  assertEquals(requests.map(describe), [
    `${SCHEDULED_SWITCHOVER_KEY}=deleted`,
    `${SWITCHOVER_OUTCOME_KEY}=started`,
    "transfer n2",
  ]);
});

Deno.test("a refused transfer is recorded as failed; a failed removal runs nothing", async () => {
  const refused = harness(leaderWith(scheduled()), {
    transfer: { ok: false, error: "n2 is not a voter", leaderHint: null },
  });
  refused.scheduler.check(AT_MS);
  await settle();
  assertEquals(refused.requests.map(describe).at(-1), `${SWITCHOVER_OUTCOME_KEY}=failed`);
  assert(refused.log.lines.some((line) => line.includes("n2 is not a voter")));

  const lost = harness(leaderWith(scheduled()), {
    propose: { ok: false, error: "not the leader", leaderHint: "n2" },
  });
  lost.scheduler.check(AT_MS);
  await settle();
  assertEquals(lost.requests.map(describe), [`${SCHEDULED_SWITCHOVER_KEY}=deleted`]);
});

Deno.test("another leader drops the schedule at its time with a reason, and runs nothing", async () => {
  const { requests, log, scheduler } = harness(leaderWith(scheduled("n3")));
  scheduler.check(AT_MS + 1);
  await settle();
  assertEquals(requests.map(describe), [
    `${SWITCHOVER_OUTCOME_KEY}=dropped`,
    `${SCHEDULED_SWITCHOVER_KEY}=deleted`,
  ]);
  assert(log.lines.some((line) => line.startsWith("WARN") && line.includes("no longer n3")));
  // A follower never acts.
  const follower = harness({ ...leaderWith(scheduled()), role: "follower" });
  follower.scheduler.check(AT_MS);
  await settle();
  assertEquals(follower.requests.length, 0);
});

Deno.test("a cancel that holds the lock first wins: the run decides again and does nothing", async () => {
  const { requests, scheduler, state } = harness(leaderWith(scheduled()));
  let release = () => {};
  const cancel = SCHEDULE_CHANGES.run(async () => {
    await new Promise<void>((resolve) => release = resolve);
    state.now = leaderWith({}); // the API's cancel removed the schedule
  });
  scheduler.check(AT_MS);
  await settle(); // the cancel holds the lock; the run waits for it
  assertEquals(requests.length, 0);
  release();
  await cancel;
  await settle();
  assertEquals(requests.map(describe), [], "no removal, no transfer after the cancel");
});
