/**
 * `GET`, `PATCH` and `PUT /config` on the API (a fake agent records what reaches the
 * core): a read needs no admin token, a change does; a patch with any bad setting submits
 * nothing and answers 400 naming it; a good patch submits one proposal per setting, in
 * order; a PUT removes the settings it leaves out; a refusal is a 409 naming the setting.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import type { AgentStatus } from "../../src/agent/agent_handle.ts";
import { FakeAgent } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

/** A fake agent whose applied key-value map is `keyValues`. */
class ConfiguredAgent extends FakeAgent {
  constructor(private readonly keyValues: Record<string, string>) {
    super();
  }
  override status(): AgentStatus {
    const status = super.status();
    return { ...status, cluster: { ...status.cluster, keyValues: this.keyValues } };
  }
}

/** The commands proposed so far (false for a request that is not a proposal). */
function proposals(agent: FakeAgent): unknown[] {
  return agent.submitted.map((request) => request.kind === "propose" && request.command);
}

async function send(agent: FakeAgent, method: string, body: unknown, token = TEST_TOKENS.admin) {
  const response = await createApiApp(agent, { tokens: TEST_TOKENS }).request("/config", {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("GET /config shows the document; PATCH checks all, then proposes in order", async () => {
  const agent = new ConfiguredAgent({ "config/postgresql/parameters/work_mem": "8MB" });
  const read = await createApiApp(agent, { tokens: TEST_TOKENS }).request("/config");
  assertEquals(read.status, 200);
  assertEquals((await read.json()).postgresql, { parameters: { work_mem: "8MB" } });
  assertEquals((await send(agent, "PATCH", { sync_mode: "quorum" }, TEST_TOKENS.read)).status, 403);
  const bad = await send(agent, "PATCH", {
    postgresql: { parameters: { work_mem: "16MB", wal_level: "minimal" } },
  });
  assertEquals(bad.status, 400);
  assert(/wal_level is managed by hactl/.test(bad.body.error), bad.body.error);
  assertEquals(proposals(agent), []);
  const good = await send(agent, "PATCH", {
    postgresql: { parameters: { work_mem: null } },
    tags: { n2: { nosync: true } },
  });
  assertEquals(good.status, 200);
  assertEquals(proposals(agent), [
    { kind: "kv", key: "config/postgresql/parameters/work_mem", value: null },
    { kind: "kv", key: "config/tags/n2/nosync", value: "true" },
  ]);
});

Deno.test("PUT /config removes what it leaves out; a refusal names the setting", async () => {
  const agent = new ConfiguredAgent({
    "config/postgresql/parameters/work_mem": "8MB",
    "config/tags/n3/nofailover": "true",
  });
  const put = await send(agent, "PUT", { sync_mode: "quorum", tags: { n3: { nofailover: true } } });
  assertEquals(put.status, 200);
  assertEquals(proposals(agent), [
    { kind: "sync-mode", mode: "quorum" },
    { kind: "kv", key: "config/tags/n3/nofailover", value: "true" },
    { kind: "kv", key: "config/postgresql/parameters/work_mem", value: null },
  ]);
  agent.answer = { ok: false, error: "not the leader", leaderHint: null };
  const refused = await send(agent, "PATCH", { maximum_lag_on_failover: 1024 });
  assertEquals(refused.status, 409);
  assertEquals(refused.body.error, "maximum_lag_on_failover: not the leader");
});
