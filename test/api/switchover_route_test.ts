/**
 * `/switchover` with `scheduled_at`: the leader records {at, from, candidate} and answers 202;
 * a time without a zone or in the past is refused with 400, a second schedule with 409 that
 * says how to cancel, a candidate that cannot lead with 412, a follower points at the leader
 * (409 with its API); `DELETE` cancels (404 when nothing is pending), `GET` and `/cluster`
 * show the pending one; without `scheduled_at` it is still the immediate transfer.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import type { AdminRequest } from "../../src/core/types.ts";
import type { AdminResult, AgentStatus, SubmitOptions } from "../../src/agent/agent_handle.ts";
import {
  readScheduledSwitchover,
  readSwitchoverOutcome,
} from "../../src/agent/scheduled_switchover.ts";
import { FakeAgent, member } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

/** A fake leader whose key-value map takes the kv proposals it accepts. */
class KeyValueAgent extends FakeAgent {
  readonly keyValues: Record<string, string> = {};

  override status(): AgentStatus {
    const status = super.status();
    return { ...status, cluster: { ...status.cluster, keyValues: { ...this.keyValues } } };
  }

  override async submit(
    request: AdminRequest,
    timeoutMs = 0,
    options: SubmitOptions = {},
  ): Promise<AdminResult> {
    const result = await super.submit(request, timeoutMs, options);
    if (result.ok && request.kind === "propose" && request.command.kind === "kv") {
      const { key, value } = request.command;
      if (value === null) delete this.keyValues[key];
      else this.keyValues[key] = value;
    }
    return result;
  }
}

async function call(agent: FakeAgent, method: string, path: string, body?: unknown) {
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  const response = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) };
}

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

Deno.test("POST /switchover with scheduled_at records it on the leader and answers 202", async () => {
  const agent = new KeyValueAgent("n1");
  const at = inMinutes(5);
  const answer = await call(agent, "POST", "/switchover", { candidate: "n2", scheduled_at: at });
  assertEquals(answer.status, 202, answer.text);
  assertEquals(answer.json.scheduled.at, at);
  assertEquals(answer.json.scheduled.from, "n1");
  assertEquals(answer.json.scheduled.candidate, "n2");
  const recorded = readScheduledSwitchover(agent.keyValues);
  assertEquals([recorded?.at, recorded?.from, recorded?.candidate], [at, "n1", "n2"]);
  assertEquals(agent.submitted.filter((r) => r.kind === "transfer").length, 0, "nothing ran");
  const shown = await call(agent, "GET", "/switchover");
  assertEquals(shown.json.scheduled.candidate, "n2");
  const cluster = await call(agent, "GET", "/cluster");
  assertEquals(cluster.json.scheduled_switchover, { at, from: "n1", to: "n2" });

  const second = await call(agent, "POST", "/switchover", { scheduled_at: inMinutes(9) });
  assertEquals(second.status, 409, second.text);
  assert(second.json.error.includes("hactl switchover --cancel"), second.text);
  assertEquals(readScheduledSwitchover(agent.keyValues)?.at, at, "the first one is kept");
});

Deno.test("scheduled_at in the past, without a zone, or not a string is refused with 400", async () => {
  const agent = new KeyValueAgent("n1");
  for (
    const [when, wanted] of [
      [inMinutes(-1), "in the past"],
      ["2030-01-01T02:00:00", "time zone"],
      [17, "scheduled_at"],
    ] as const
  ) {
    const answer = await call(agent, "POST", "/switchover", { target: "n2", scheduled_at: when });
    assertEquals(answer.status, 400, answer.text);
    assert(answer.json.error.includes(wanted), answer.text);
  }
  assertEquals(agent.submitted.length, 0);
});

Deno.test("a candidate that cannot lead is refused with 412; a follower points at the leader", async () => {
  const agent = new KeyValueAgent("n1");
  agent.keyValues["config/tags/n3/nofailover"] = "true";
  for (
    const [body, wanted] of [
      [{ candidate: "n1" }, "already leads"],
      [{ candidate: "n9" }, "not a voter"],
      [{ candidate: "n3" }, "nofailover"],
      [{ leader: "n2" }, "n2 is not the leader"],
    ] as const
  ) {
    const answer = await call(agent, "POST", "/switchover", {
      ...body,
      scheduled_at: inMinutes(5),
    });
    assertEquals(answer.status, 412, answer.text);
    assert(answer.json.error.includes(wanted), answer.text);
  }
  assertEquals(agent.submitted.length, 0);
  const follower = new KeyValueAgent("n2").becomeStandby("n1");
  follower.members = [member("n1", 8001), member("n2", 8002)];
  const answer = await call(follower, "POST", "/switchover", { scheduled_at: inMinutes(5) });
  assertEquals(answer.status, 409, answer.text);
  assertEquals(answer.json.leaderApi, "127.0.0.1:8001");
  assertEquals(follower.submitted.length, 0);
});

Deno.test("DELETE /switchover cancels the pending one and records it; 404 when none", async () => {
  const agent = new KeyValueAgent("n1");
  const none = await call(agent, "DELETE", "/switchover");
  assertEquals(none.status, 404, none.text);
  const at = inMinutes(5);
  assertEquals((await call(agent, "POST", "/switchover", { scheduled_at: at })).status, 202);
  const cancelled = await call(agent, "DELETE", "/switchover");
  assertEquals(cancelled.status, 200, cancelled.text);
  assertEquals(cancelled.json.cancelled.at, at);
  assertEquals(readScheduledSwitchover(agent.keyValues), null);
  assertEquals(readSwitchoverOutcome(agent.keyValues)?.outcome, "cancelled");
  const shown = await call(agent, "GET", "/switchover");
  assertEquals([shown.json.scheduled, shown.json.last.outcome], [null, "cancelled"]);
});

Deno.test("POST /switchover without scheduled_at is the immediate transfer (target or candidate)", async () => {
  const agent = new KeyValueAgent("n1");
  assertEquals((await call(agent, "POST", "/switchover", { candidate: "n3" })).status, 200);
  assertEquals((await call(agent, "POST", "/switchover", { target: "n2" })).status, 200);
  assertEquals(
    agent.submitted.map((request) => request.kind === "transfer" && request.target),
    ["n3", "n2"],
  );
  // An operator's switchover is refused, not tried, when its target does not stream.
  assertEquals(agent.submitOptions, [
    { refuseUnconnectedTarget: true },
    { refuseUnconnectedTarget: true },
  ]);
});
