/**
 * The cluster configuration's operator forms: a JSON merge patch and `--set` keys become
 * exactly the Raft commands of the key scheme, anything else (managed or malformed
 * parameters, unknown tags, bad numbers, control characters) is refused with the key
 * named; the `key = "value"` text of edit-config survives a round trip, and the patch
 * between two texts holds only the changes, removals as null.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  clusterConfigDocument,
  flatSettings,
  settingCommand,
  settingsOfPatch,
} from "../../src/config/cluster_settings.ts";
import { parseSettings, renderSettings, settingsPatch } from "../../src/cli/config_command.ts";

const APPLIED = {
  syncMode: "quorum",
  keyValues: {
    "config/maximum_lag_on_failover": "1048576",
    "config/postgresql/parameters/work_mem": "8MB",
    "config/postgresql/parameters/pg_stat_statements.max": "5000",
    "config/tags/node3/nofailover": "true",
    "postgres/system-identifier": "7000",
  },
};

Deno.test("a merge patch becomes the commands of the key scheme", () => {
  const settings = settingsOfPatch({
    sync_mode: "asynchronous",
    maximum_lag_on_failover: null,
    postgresql: { parameters: { work_mem: "16MB", "pg_stat_statements.max": null } },
    tags: { node2: { nosync: true, failover_priority: 2 } },
  });
  assert(Array.isArray(settings));
  assertEquals(settings.map(settingCommand), [
    { kind: "sync-mode", mode: "asynchronous" },
    { kind: "kv", key: "config/maximum_lag_on_failover", value: "none" },
    { kind: "kv", key: "config/postgresql/parameters/work_mem", value: "16MB" },
    { kind: "kv", key: "config/postgresql/parameters/pg_stat_statements.max", value: null },
    { kind: "kv", key: "config/tags/node2/nosync", value: "true" },
    { kind: "kv", key: "config/tags/node2/failover_priority", value: "2" },
  ]);
});

Deno.test("Patroni's synchronous_mode maps onto hactl's sync modes", () => {
  assertEquals(settingCommand({ key: "synchronous_mode", value: "true" }), {
    kind: "sync-mode",
    mode: "quorum",
  });
  assertEquals(settingCommand({ key: "synchronous_mode", value: "false" }), {
    kind: "sync-mode",
    mode: "asynchronous",
  });
});

Deno.test("bad settings are refused, naming the key", () => {
  const refusals: Array<[string, string | null, RegExp]> = [
    ["postgresql.parameters.port", "1", /managed by hactl/],
    ["postgresql.parameters.Work-Mem", "1", /not a Postgres parameter name/],
    ["postgresql.parameters.work_mem", "8MB\nport = 1", /control characters/],
    ["tags.node2.nofailoverr", "true", /unknown tag/],
    ["tags.node 2.nosync", "true", /member id/],
    ["tags.node2.failover_priority", "-1", /non-negative integer/],
    ["maximum_lag_on_failover", "16MB", /number of bytes/],
    ["sync_mode", "sync", /quorum/],
    ["synchronous_mode", "sometimes", /expected true, false/],
    ["synchronous_node_count", "2", /unknown setting/],
  ];
  for (const [key, value, pattern] of refusals) {
    const result = settingCommand({ key, value });
    assert(
      typeof result === "string" && pattern.test(result) && result.includes(key),
      `${key}: ${JSON.stringify(result)}`,
    );
  }
  assert(typeof settingsOfPatch({ a: { b: { c: { d: "1" } } } }) === "string");
  assert(typeof settingsOfPatch({ sync_mode: ["quorum"] }) === "string");
});

Deno.test("the document and the edit-config text show the applied configuration", () => {
  assertEquals(clusterConfigDocument(APPLIED), {
    sync_mode: "quorum",
    maximum_lag_on_failover: 1048576,
    postgresql: { parameters: { "pg_stat_statements.max": "5000", work_mem: "8MB" } },
    tags: { node3: { nofailover: "true" } },
  });
  const text = renderSettings(flatSettings(APPLIED));
  const parsed = parseSettings(`# comment\n${text}\n`);
  assertEquals(parsed.get("postgresql.parameters.work_mem"), "8MB");
  assertEquals(parsed.size, 5);
  const edited = parseSettings(
    text.replace('work_mem = "8MB"', 'work_mem = "9MB"').replace(/^tags.*$/m, "") +
      "\npostgresql.parameters.max_connections = 150",
  );
  assertEquals(settingsPatch(parsed, edited), {
    "postgresql.parameters.work_mem": "9MB",
    "postgresql.parameters.max_connections": "150",
    "tags.node3.nofailover": null,
  });
});
