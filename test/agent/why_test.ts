/**
 * `hactl why` explains from the core's own reasons: a follower tagged nofailover says it
 * does not stand for election and why no failover happens (a live leader), with its lag
 * against the cluster's maximum; a paused cluster says so first; and the decision log keeps
 * each change once (a moving lag figure is not a new decision), bounded.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { explain } from "../../src/agent/why.ts";
import { DecisionLog, MAX_DECISION_EVENTS } from "../../src/agent/decision_log.ts";
import { MAXIMUM_LAG_KEY, tagKey } from "../../src/core/mod.ts";
import type { NodeState } from "../../src/core/types.ts";
import { at, memberNode } from "../core/helpers.ts";

function follower(keyValues: Record<string, string>, paused = false): NodeState {
  const node = memberNode("n1", ["n1", "n2", "n3"], { position: at(1, 100) });
  return {
    ...node,
    leader: "n2",
    ticksSinceLeaderContact: 2,
    leaderPosition: at(1, 600),
    applied: { ...node.applied, keyValues, paused },
  };
}

Deno.test("why: a tagged follower under a live leader, and a paused cluster", () => {
  const report = explain(
    follower({ [tagKey("n1", "nofailover")]: "true", [MAXIMUM_LAG_KEY]: "1000" }),
    50,
    [],
  );
  assertEquals(report.primary, false);
  assertEquals(report.summary, "n1 is not the primary: n2 leads");
  assert(report.reasons.includes("this node does not stand for election: tag nofailover is set"));
  assert(
    report.reasons.some((reason) =>
      reason.startsWith("no failover: leader n2 was heard 100 ms ago")
    ),
  );
  assert(
    report.reasons.includes("WAL behind the last primary: 500 bytes (maximum on failover: 1000)"),
  );
  const paused = explain(follower({}, true), 50, []);
  assert(paused.reasons[0]!.startsWith("the cluster is paused"), paused.reasons.join("\n"));
  assert(
    paused.reasons.includes("this node may stand for election (it needs a majority of votes)"),
  );
});

Deno.test("the decision log keeps each change once and at most its bound", () => {
  const log = new DecisionLog(null);
  log.record("raft", "leader in term 2");
  log.record("raft", "leader in term 2");
  log.record("vote", "refused");
  assertEquals(log.recent().map((event) => event.text), ["leader in term 2", "refused"]);
  for (let index = 0; index < MAX_DECISION_EVENTS + 10; index++) log.record("x", `event ${index}`);
  assertEquals(log.recent().length, MAX_DECISION_EVENTS);
  assertEquals(log.recent(1)[0]!.text, `event ${MAX_DECISION_EVENTS + 9}`);
});

Deno.test("a lag that moves while over the limit is one decision, not one per step", () => {
  const log = new DecisionLog(null);
  const behind = (lsn: number) => ({
    ...follower({ [MAXIMUM_LAG_KEY]: "1000" }),
    leaderPosition: at(1, lsn),
  });
  const tick = { kind: "tick", jitterTicks: 0 } as const;
  log.observeStep(behind(5000), behind(5000), tick, []);
  log.observeStep(behind(5000), behind(6000), tick, []);
  log.observeStep(behind(6000), behind(900), tick, []);
  assertEquals(log.recent().filter((event) => event.kind === "election").map((e) => e.text), [
    "does not stand for election: 4900 bytes behind the last primary (limit 1000)",
    "may stand for election",
  ]);
});
