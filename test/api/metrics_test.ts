/**
 * /metrics is valid Prometheus text: every line is a HELP/TYPE comment or `name{labels} value`,
 * every sample has a TYPE, and the values follow the agent's status and counters.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import { counterMetricName } from "../../src/api/metrics.ts";
import { FakeAgent } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$/;
const COMMENT = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/;

/** Parses exposition text into samples by line; throws on a line that is neither. */
function parsePrometheus(text: string): Map<string, number> {
  const typed = new Set<string>();
  const samples = new Map<string, number>();
  for (const line of text.trimEnd().split("\n")) {
    const comment = COMMENT.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        assert(["gauge", "counter"].includes(comment[3]!), line);
        typed.add(comment[2]!);
      }
      continue;
    }
    const sample = SAMPLE.exec(line);
    assert(sample, `not Prometheus text: ${JSON.stringify(line)}`);
    assert(typed.has(sample[1]!), `sample before its TYPE: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ""}`, Number(sample[3]));
  }
  return samples;
}

Deno.test("metrics parse as Prometheus text and follow the status", async () => {
  const agent = new FakeAgent();
  agent.peers = [
    { id: "n2", voter: true, matchIndex: 9, position: null, lagBytes: 128, ticksSinceResponse: 1 },
    { id: "n3", voter: true, matchIndex: 9, position: null, lagBytes: null, ticksSinceResponse: 1 },
  ];
  const row = {
    usename: "replicator",
    client_addr: null,
    state: "streaming",
    sync_state: "quorum",
    sync_priority: 1,
  };
  agent.details = {
    serverVersion: 160004,
    postmasterStartIso: "2026-01-01T00:00:00.000000Z",
    inRecovery: false,
    receivedLsn: null,
    replayedLsn: null,
    replayedTimestampIso: null,
    replayPaused: false,
    walReceiverStatus: null,
    replayLagSeconds: 0,
    replication: [
      { ...row, application_name: "n2", replay_lag_seconds: 0.25 },
      { ...row, application_name: "hactl.gate", replay_lag_seconds: null },
    ],
  };
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  const response = await app.request("/metrics");
  assertEquals(response.status, 200);
  assert(response.headers.get("content-type")?.startsWith("text/plain"));
  const samples = parsePrometheus(await response.text());
  assertEquals(samples.get("hactl_raft_term"), 3);
  assertEquals(samples.get('hactl_raft_role{role="leader"}'), 1);
  assertEquals(samples.get('hactl_raft_role{role="follower"}'), 0);
  assertEquals(samples.get("hactl_raft_commit_index"), 9);
  assertEquals(samples.get("hactl_raft_log_entries"), 9);
  assertEquals(samples.get("hactl_write_authority"), 1);
  assertEquals(samples.get("hactl_postgres_fenced"), 0);
  assertEquals(samples.get("hactl_postgres_in_recovery"), 0);
  assertEquals(samples.get("hactl_postgres_lsn_bytes"), 0x3000060);
  assertEquals(samples.get("hactl_postgres_timeline"), 2);
  assertEquals(samples.get('hactl_peer_lag_bytes{peer="n2"}'), 128);
  assert(!samples.has('hactl_peer_lag_bytes{peer="n3"}'), "unknown lag is left out, not 0");
  assertEquals(samples.get("hactl_lease_remaining_seconds"), 0.5);
  assertEquals(samples.get('hactl_peer_last_contact_seconds{peer="n2"}'), 0.05);
  assertEquals(samples.get("hactl_writable_primary"), 1);
  assertEquals(samples.get("hactl_replication_lag_bytes"), 0);
  assertEquals(samples.get("hactl_replication_lag_seconds"), 0, "0 on the primary");
  assert(!samples.has("hactl_max_lag_bytes"), "no limit: no sample");
  assert(
    [...samples.keys()].some((key) => key.startsWith('hactl_build_info{version="')),
    "build info",
  );
  assert((samples.get("process_resident_memory_bytes") ?? 0) > 0);
  assertEquals(samples.get('hactl_peer_replay_lag_seconds{peer="n2"}'), 0.25);
  assert(
    !samples.has('hactl_peer_replay_lag_seconds{peer="hactl.gate"}'),
    "the commit gate is not a standby",
  );
  assertEquals(samples.get("hactl_steps_total"), 10);
  assertEquals(samples.get("hactl_messages_sent_total"), 4);
  assert(!samples.has("hactl_durability_opt_outs"), "unknown opt-outs: no sample");
  agent.durabilityOptOuts = [
    { role: "app", database: null, setting: "synchronous_commit", value: "local" },
  ];
  const withOptOut = parsePrometheus(await (await app.request("/metrics")).text());
  assertEquals(withOptOut.get("hactl_durability_opt_outs"), 1);

  agent.becomeStandby("n2");
  agent.postgres = { ...agent.postgres!, fenced: true };
  agent.maxLagBytes = 1024;
  agent.details = {
    serverVersion: 160004,
    postmasterStartIso: "2026-01-01T00:00:00.000000Z",
    inRecovery: true,
    receivedLsn: 0x3000000,
    replayedLsn: 0x2ffff00,
    replayedTimestampIso: null,
    replayPaused: false,
    walReceiverStatus: "streaming",
    replayLagSeconds: 2.5,
    replication: [],
  };
  const standby = parsePrometheus(await (await app.request("/metrics")).text());
  assertEquals(standby.get("hactl_replication_lag_bytes"), 0x60);
  assertEquals(standby.get("hactl_replication_lag_seconds"), 2.5);
  assertEquals(standby.get("hactl_max_lag_bytes"), 1024);
  assertEquals(standby.get("hactl_leader_contact_age_seconds"), 0.1);
  assertEquals(standby.get("hactl_postgres_server_version"), 160004);
  assertEquals(standby.get("hactl_quorum_standby"), 1);
  assertEquals(standby.get("hactl_write_authority"), 0);
  assertEquals(standby.get('hactl_raft_role{role="follower"}'), 1);
  assertEquals(standby.get("hactl_postgres_in_recovery"), 1);
  assertEquals(standby.get("hactl_postgres_fenced"), 1);
});

Deno.test("counter names become snake case with one _total suffix", () => {
  assertEquals(counterMetricName("messagesSent"), "hactl_messages_sent_total");
  assertEquals(counterMetricName("restartsTotal"), "hactl_restarts_total");
  assertEquals(counterMetricName("bad-name.x"), "hactl_bad_name_x_total");
});
