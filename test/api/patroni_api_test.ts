/**
 * Patroni's query parameters and the rest of its read-only API, with Patroni's meaning:
 * `lag` (bytes or 16MB) takes a lagging standby out of the pool, `replication_state` and
 * `tag_<name>` narrow it, parameters an endpoint does not take and bad values are a 400 (never
 * silently ignored); quorum, synchronous and asynchronous standbys; liveness and readiness;
 * the /patroni, /cluster and /history documents; Patroni endpoints without meaning in hactl
 * answer 501 with the reason.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import { parseSizeBytes } from "../../src/api/health_query.ts";
import type { PostgresDetails } from "../../src/agent/agent_handle.ts";
import { FakeAgent, member } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

/** A standby's details: streaming, everything received replayed. */
function standbyDetails(overrides: Partial<PostgresDetails> = {}): PostgresDetails {
  return {
    serverVersion: 160004,
    postmasterStartIso: "2026-01-01T00:00:00.000000Z",
    inRecovery: true,
    receivedLsn: 0x3000000,
    replayedLsn: 0x3000000,
    replayedTimestampIso: "2026-01-01T00:00:01.000000Z",
    replayPaused: false,
    walReceiverStatus: "streaming",
    replayLagSeconds: 0,
    replication: [],
    ...overrides,
  };
}

async function statusOf(agent: FakeAgent, path: string, method = "GET"): Promise<number> {
  const response = await createApiApp(agent, { tokens: TEST_TOKENS }).request(path, { method });
  await response.body?.cancel();
  return response.status;
}

async function errorOf(agent: FakeAgent, path: string): Promise<string> {
  const response = await createApiApp(agent, { tokens: TEST_TOKENS }).request(path);
  assertEquals(response.status, 400, path);
  return (await response.json()).error;
}

Deno.test("lag sizes parse as Patroni's: bytes or B, kB, MB, GB, TB in powers of 1024", () => {
  assertEquals(parseSizeBytes("1048576"), 1048576);
  assertEquals(parseSizeBytes("1024kB"), 1048576);
  assertEquals(parseSizeBytes("16MB"), 16 * 1024 * 1024);
  assertEquals(parseSizeBytes("1GB"), 1024 ** 3);
  assertEquals(parseSizeBytes("1.5kB"), 1536);
  assertEquals(parseSizeBytes("16 XB"), null);
  assertEquals(parseSizeBytes("-1"), null);
  assertEquals(parseSizeBytes(""), null);
});

Deno.test("/replica?lag= takes a standby out when it trails the leader by more", async () => {
  const agent = new FakeAgent().becomeStandby("n2"); // 0x60 bytes behind the leader
  assertEquals(await statusOf(agent, "/replica?lag=16MB"), 200);
  assertEquals(await statusOf(agent, "/replica?lag=96"), 200);
  assertEquals(await statusOf(agent, "/replica?lag=95", "OPTIONS"), 503);
  assertEquals(await statusOf(agent, "/async?lag=95"), 503);
  assertEquals(await statusOf(agent, "/read-only?lag=95"), 503);
  // Past the fork point of the leader's newer timeline, the lag is not a byte count: out of
  // a pool that asks for a lag, still in the plain replica pool.
  agent.leaderPosition = {
    timeline: 3,
    lsn: 0x3000060,
    history: [{ timeline: 1, endLsn: 0x2000000 }, { timeline: 2, endLsn: 0x2ffff00 }],
  };
  assertEquals(await statusOf(agent, "/replica?lag=1GB"), 503);
  assertEquals(await statusOf(agent, "/replica"), 200);
});

Deno.test("replication_state and tags narrow the replica checks; noloadbalance leaves", async () => {
  const agent = new FakeAgent().becomeStandby("n2");
  agent.details = standbyDetails();
  assertEquals(await statusOf(agent, "/replica?replication_state=streaming", "OPTIONS"), 200);
  agent.details = standbyDetails({ walReceiverStatus: null });
  assertEquals(await statusOf(agent, "/replica?replication_state=streaming"), 503);
  assertEquals(await statusOf(agent, "/replica?replication_state=in%20archive%20recovery"), 200);
  agent.tags = { zone: "a" };
  assertEquals(await statusOf(agent, "/replica?tag_zone=a"), 200);
  assertEquals(await statusOf(agent, "/replica?tag_zone=b"), 503);
  assertEquals(await statusOf(agent, "/replica?tag_rack=1"), 503);
  agent.tags = { noloadbalance: "true" };
  assertEquals(await statusOf(agent, "/replica"), 503);
  // Tags do not apply to the leader checks (as in Patroni).
  const primary = new FakeAgent();
  assertEquals(await statusOf(primary, "/primary?tag_zone=b"), 200);
  assertEquals(await statusOf(primary, "/read-only?tag_zone=b"), 503);
});

Deno.test("HEAD and OPTIONS read Postgres only when a parameter needs it", async () => {
  const agent = new FakeAgent().becomeStandby("n2");
  agent.details = standbyDetails();
  await statusOf(agent, "/replica?lag=1MB", "OPTIONS");
  await statusOf(agent, "/", "HEAD");
  assertEquals(agent.detailsReads, 0);
  await statusOf(agent, "/replica?replication_state=streaming", "OPTIONS");
  assertEquals(agent.detailsReads, 1);
});

Deno.test("unknown, repeated or bad parameters are a 400 naming the problem", async () => {
  const agent = new FakeAgent().becomeStandby("n2");
  assert((await errorOf(agent, "/replica?lag=16XB")).includes("is not a size"));
  assert((await errorOf(agent, "/replica?max_lag=1")).includes('"max_lag"'));
  assert((await errorOf(agent, "/replica?lag=1&lag=2")).includes("given twice"));
  assert((await errorOf(agent, "/replica?replication_state=catchup")).includes("streaming"));
  assert((await errorOf(agent, "/primary?lag=1MB")).includes("does not take"));
  assert((await errorOf(agent, "/health?lag=1MB")).includes("does not take"));
  assert((await errorOf(agent, "/readiness?mode=fast")).includes("apply or write"));
  assert((await errorOf(agent, "/patroni?x=1")).includes("no parameters"));
  assert((await errorOf(agent, "/metrics?name=x")).includes("no parameters"));
});

Deno.test("quorum standbys answer /quorum; learners and asynchronous mode answer /async", async () => {
  const voter = new FakeAgent().becomeStandby("n2");
  assertEquals(await statusOf(voter, "/quorum"), 200);
  assertEquals(await statusOf(voter, "/read-only-quorum"), 200);
  assertEquals(await statusOf(voter, "/async"), 503);
  assertEquals(await statusOf(voter, "/asynchronous"), 503);
  // hactl has no priority synchronous standbys: Patroni's quorum mode answers /sync 503 too.
  assertEquals(await statusOf(voter, "/sync"), 503);
  assertEquals(await statusOf(voter, "/synchronous"), 503);
  assertEquals(await statusOf(voter, "/read-only-sync"), 503);
  const learner = new FakeAgent("n4").becomeStandby("n2");
  learner.learners = ["n4"];
  assertEquals(await statusOf(learner, "/quorum"), 503);
  assertEquals(await statusOf(learner, "/async"), 200);
  voter.syncMode = "asynchronous";
  assertEquals(await statusOf(voter, "/async"), 200);
  assertEquals(await statusOf(voter, "/quorum"), 503);
  const primary = new FakeAgent();
  assertEquals(await statusOf(primary, "/read-only-sync"), 200);
  assertEquals(await statusOf(primary, "/read-only-quorum"), 200);
  assertEquals(await statusOf(primary, "/quorum"), 503);
});

Deno.test("liveness follows the agent's loop; readiness the leader or a close streaming standby", async () => {
  const leader = new FakeAgent();
  assertEquals(await statusOf(leader, "/liveness"), 200);
  leader.stepAgeMs = 1_500; // more than one election timeout (1000 ms) on the leader
  assertEquals(await statusOf(leader, "/liveness"), 503);
  assertEquals(await statusOf(leader, "/readiness"), 200);
  const standby = new FakeAgent().becomeStandby("n2");
  standby.stepAgeMs = 1_500; // a standby is given two election timeouts
  assertEquals(await statusOf(standby, "/liveness"), 200);
  assertEquals(await statusOf(standby, "/readiness"), 503, "no details: not known to stream");
  standby.details = standbyDetails({ replayedLsn: 0x3000000 - 1024 });
  assertEquals(await statusOf(standby, "/readiness"), 200, "no max_lag_bytes: no limit");
  standby.maxLagBytes = 1000;
  assertEquals(await statusOf(standby, "/readiness"), 503, "replay 1120 bytes behind");
  assertEquals(await statusOf(standby, "/readiness?mode=write"), 200, "received 96 bytes behind");
  assertEquals(await statusOf(standby, "/readiness?lag=2kB"), 200);
  standby.details = standbyDetails({ walReceiverStatus: "waiting" });
  assertEquals(await statusOf(standby, "/readiness?lag=1GB"), 503);
});

Deno.test("/patroni, /cluster and /history use Patroni's field names", async () => {
  const agent = new FakeAgent();
  agent.members = [member("n1", 8008), member("n2", 8009), member("n3", 8010)];
  agent.peers = [
    { id: "n2", voter: true, matchIndex: 9, position: null, lagBytes: 128, ticksSinceResponse: 1 },
  ];
  agent.details = {
    ...standbyDetails({ inRecovery: false, receivedLsn: null, replayedLsn: null }),
    replication: [{
      usename: "replicator",
      application_name: "n2",
      client_addr: "127.0.0.1",
      state: "streaming",
      sync_state: "quorum",
      sync_priority: 1,
      replay_lag_seconds: null,
    }],
  };
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  const node = await (await app.request("/patroni")).json();
  assertEquals(node.state, "running");
  assertEquals(node.role, "primary");
  assertEquals(node.server_version, 160004);
  assertEquals(node.xlog, { location: 0x3000060 });
  assertEquals(node.timeline, 2);
  assertEquals(node.replication[0].application_name, "n2");
  assertEquals(node.patroni, { scope: "test", name: "n1" });
  const cluster = await (await app.request("/cluster")).json();
  assertEquals(cluster.scope, "test");
  assertEquals(cluster.members.map((entry: { name: string }) => entry.name), ["n1", "n2", "n3"]);
  assertEquals(cluster.members[0].role, "leader");
  assertEquals(cluster.members[1].role, "quorum_standby");
  assertEquals(cluster.members[1].lag, 128);
  assertEquals(cluster.members[0].api_url, "http://127.0.0.1:8008/patroni");
  const history = await (await app.request("/history")).json();
  assertEquals(history, [[1, 0x2000000, "promotion", null]]);
});

Deno.test("a new primary is held out of the primary checks for api.primary_hold_ms", async () => {
  const agent = new FakeAgent();
  agent.writeAuthorityAgeMs = 2_000;
  const held = await createApiApp(agent, { tokens: TEST_TOKENS, primaryHoldMs: 10_000 })
    .request("/primary");
  assertEquals(held.status, 503);
  assert((await held.json()).check.reason.includes("api.primary_hold_ms = 10000"));
  for (const path of ["/", "/read-write", "/master", "/leader"]) {
    assertEquals(await statusOf(agent, path, "OPTIONS"), 503, path);
  }
  // Reads and Postgres health are not held.
  assertEquals(await statusOf(agent, "/read-only"), 200);
  assertEquals(await statusOf(agent, "/health"), 200);
  agent.writeAuthorityAgeMs = 10_000;
  assertEquals(await statusOf(agent, "/primary"), 200);
  agent.writeAuthorityAgeMs = 0;
  const off = await createApiApp(agent, { tokens: TEST_TOKENS, primaryHoldMs: 0 })
    .request("/primary", { method: "HEAD" });
  assertEquals(off.status, 200);
});

Deno.test("Patroni endpoints without meaning in hactl answer 501 with the reason", async () => {
  const app = createApiApp(new FakeAgent(), { tokens: TEST_TOKENS });
  for (const path of ["/standby-leader", "/standby_leader", "/failsafe", "/sigterm"]) {
    const response = await app.request(path);
    assertEquals(response.status, 501, path);
    assert((await response.json()).error.includes("without meaning in hactl"), path);
  }
  const unknown = await app.request("/replicas");
  assertEquals(unknown.status, 404);
  assert((await unknown.json()).error.includes("/read-only"));
});
