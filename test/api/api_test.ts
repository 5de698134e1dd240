/**
 * The REST API against a stand-in agent whose status the test controls (the agent itself is
 * tested on real clusters in test/cluster): health answers for HAProxy in each role, the
 * secret required for changes, body validation, result mapping, and the metrics format.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import type { AdminResult, AgentHandle, AgentStatus } from "../../src/agent/agent_handle.ts";
import type { AdminRequest, PostgresObservation } from "../../src/core/mod.ts";

const SECRET = "0123456789abcdef0123456789abcdef";

function observation(overrides: Partial<PostgresObservation>): PostgresObservation {
  return {
    status: "running",
    inRecovery: false,
    position: { timeline: 2, lsn: 4096 },
    replayCaughtUp: true,
    synchronousStandbyNames: 'ANY 1 ("n2", "n3")',
    fenced: false,
    ...overrides,
  };
}

class FakeAgent implements AgentHandle {
  writeAuthority = true;
  postgres: PostgresObservation | null = observation({});
  submitted: AdminRequest[] = [];
  answer: AdminResult = { ok: true, error: null, leaderHint: null };
  status(): AgentStatus {
    return {
      nodeId: "n1",
      clusterName: "test",
      raft: {
        role: "leader",
        term: 3,
        leader: "n1",
        commitIndex: 9,
        lastIndex: 9,
        logEntries: 9,
        snapshotIndex: 0,
        voters: ["n1", "n2", "n3"],
        learners: [],
        leaseRemainingMs: 500,
        writeAuthority: this.writeAuthority,
      },
      cluster: { paused: false, syncMode: "quorum", keyValues: {} },
      postgres: {
        observation: this.postgres,
        desired: { kind: "hold", reason: "test" },
        activity: "",
        lastError: null,
      },
      peers: [{
        id: "n2",
        voter: true,
        matchIndex: 9,
        position: null,
        lagBytes: 128,
        ticksSinceResponse: 1,
      }],
      members: [
        {
          id: "n2",
          raft: { hostname: "10.0.0.2", port: 7401 },
          postgres: { hostname: "10.0.0.2", port: 5432 },
          api: { hostname: "10.0.0.2", port: 8008 },
        },
      ],
      refusal: null,
      startedAtIso: "2026-01-01T00:00:00Z",
    };
  }
  submit(request: AdminRequest): Promise<AdminResult> {
    this.submitted.push(request);
    return Promise.resolve(this.answer);
  }
  counters() {
    return { steps: 10, messagesSent: 4 };
  }
}

async function call(
  agent: FakeAgent,
  method: string,
  path: string,
  body?: unknown,
  secret: string | null = SECRET,
) {
  const app = createApiApp(agent, { secret: SECRET });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  const response = await app.request(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

Deno.test("health endpoints answer 200 only for the matching role", async () => {
  const agent = new FakeAgent();
  assertEquals((await call(agent, "GET", "/primary")).status, 200);
  assertEquals((await call(agent, "GET", "/replica")).status, 503);
  assertEquals((await call(agent, "HEAD", "/read-write")).status, 200);
  agent.writeAuthority = false;
  assertEquals((await call(agent, "GET", "/primary")).status, 503, "no lease, no primary");
  agent.writeAuthority = true;
  agent.postgres = observation({ fenced: true });
  assertEquals(
    (await call(agent, "GET", "/primary")).status,
    503,
    "a fenced primary is not a primary",
  );
  agent.writeAuthority = false;
  agent.postgres = observation({ inRecovery: true });
  assertEquals((await call(agent, "GET", "/replica")).status, 200);
  assertEquals((await call(agent, "GET", "/health")).status, 200);
  agent.postgres = observation({ status: "stopped" });
  assertEquals((await call(agent, "GET", "/health")).status, 503);
});

Deno.test("changes need the cluster secret", async () => {
  const agent = new FakeAgent();
  assertEquals((await call(agent, "POST", "/switchover", {}, null)).status, 401);
  assertEquals(
    (await call(agent, "POST", "/switchover", {}, "wrong-secret-wrong-secret-wrong-s")).status,
    401,
  );
  assertEquals(agent.submitted.length, 0);
  assertEquals((await call(agent, "POST", "/switchover", { target: "n2" })).status, 200);
  assertEquals(agent.submitted[0]?.kind, "transfer");
});

Deno.test("bad bodies get a 400 naming the field", async () => {
  const agent = new FakeAgent();
  const notJson = await call(agent, "POST", "/switchover", "{nope");
  assertEquals(notJson.status, 400);
  const badTarget = await call(agent, "POST", "/switchover", { target: "no spaces allowed" });
  assertEquals(badTarget.status, 400);
  assert(badTarget.json().error.includes("target"), badTarget.text);
  const missing = await call(agent, "POST", "/members/remove", {});
  assertEquals(missing.status, 400);
  assert(missing.json().error.includes("node"), missing.text);
  const badKey = await call(agent, "POST", "/kv", { key: "", value: "x" });
  assertEquals(badKey.status, 400);
  assertEquals(agent.submitted.length, 0, "nothing reaches the core");
});

Deno.test("a refusal by a non-leader is a 409 with the leader's API address", async () => {
  const agent = new FakeAgent();
  agent.answer = { ok: false, error: "n1 is not the leader: the leader is n2", leaderHint: "n2" };
  const answer = await call(agent, "POST", "/pause", {});
  assertEquals(answer.status, 409);
  assertEquals(answer.json().leaderApi, "10.0.0.2:8008");
  agent.answer = {
    ok: false,
    error: "no answer within 10000 ms; the outcome is unknown",
    leaderHint: null,
  };
  assertEquals((await call(agent, "POST", "/resume", {})).status, 504);
});

Deno.test("metrics are valid Prometheus text", async () => {
  const agent = new FakeAgent();
  const answer = await call(agent, "GET", "/metrics");
  assertEquals(answer.status, 200);
  const lines = answer.text.trim().split("\n");
  for (const line of lines) {
    assert(
      /^# (HELP|TYPE) \w+ .+$/.test(line) ||
        /^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?\d+(\.\d+)?$/.test(line),
      line,
    );
  }
  assert(lines.includes("hactl_write_authority 1"));
  assert(lines.includes('hactl_raft_role{role="leader"} 1'));
  assert(lines.includes('hactl_peer_lag_bytes{peer="n2"} 128'));
  assert(lines.includes("hactl_messages_sent_total 4"));
});
