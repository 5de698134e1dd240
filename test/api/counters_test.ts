/**
 * The agent's counters start at zero, only go up by whole numbers (a bad increment is a bug
 * of this node and throws), and each has one help text, so /metrics writes each family once.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { COUNTER_HELP, counterHelp, Counters } from "../../src/agent/counters.ts";
import { counterMetricName, renderMetrics } from "../../src/api/metrics.ts";
import { FakeAgent } from "./fake_agent.ts";

Deno.test("counters start at zero and only go up", () => {
  const counters = new Counters();
  for (const value of Object.values(counters.snapshot())) assertEquals(value, 0);
  counters.increment("promotions");
  counters.increment("rewinds", 2);
  assertEquals(counters.snapshot().promotions, 1);
  assertEquals(counters.snapshot().rewinds, 2);
  throws(() => counters.increment("fences", -1), /only go up/);
  throws(() => counters.increment("fences", 0.5), /only go up/);
  assertEquals(counters.snapshot().fences, 0);
});

Deno.test("every counter has its own help text and metric name", () => {
  const names = Object.keys(COUNTER_HELP).map(counterMetricName);
  assertEquals(new Set(names).size, names.length);
  assert(counterHelp("framesRejected").includes("refused"));
  assertEquals(counterHelp("somethingNew"), "Agent counter somethingNew.");
});

Deno.test("two counters with one metric name are refused, not written twice", () => {
  // messages_sent (the agent's old name) and messagesSent (the transport's) were both
  // rendered as hactl_messages_sent_total; promtool rejects such a page.
  throws(
    () => renderMetrics(new FakeAgent().status(), { messages_sent: 1, messagesSent: 2 }),
    /written twice/,
  );
});
