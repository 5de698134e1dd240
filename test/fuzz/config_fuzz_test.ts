/**
 * Fuzz target: the config parser. Arbitrary text, and a valid hactl.toml with lines removed,
 * duplicated or replaced by random text, never make parseAgentConfig throw: it answers a
 * config or a list of errors, each naming the file.
 */
import { ok as assert } from "node:assert/strict";
import fc from "fast-check";
import { parseAgentConfig } from "../../src/config/config_file.ts";
import { fuzzParameters } from "./fuzz_runs.ts";

const VALID = `[node]
id = "node1"
data_dir = "/var/lib/hactl"

[cluster]
name = "main"
secret_file = "/etc/hactl/cluster.secret"
peers = ["node2=10.0.0.2:7401", "node3=10.0.0.3:7401,postgres=5433,api=8009"]
max_lag_bytes = 1048576

[raft]
advertise = "10.0.0.1:7401"
tick_ms = 50

[gateway]
listen = "0.0.0.0:6432"
max_connections = 100

[postgres]
data_dir = "/var/lib/postgresql/hactl"
client_networks = ["10.1.0.0/16", "fd00::/64"]
parameters = ["shared_buffers=256MB"]
`;

function check(text: string): void {
  const result = parseAgentConfig(text, { fileName: "fuzz.toml" });
  if (result.ok) return;
  assert(result.errors.length > 0, "a refusal names at least one error");
  for (const error of result.errors) assert(error.includes("fuzz.toml"), error);
}

Deno.test("fuzz: arbitrary text never makes the config parser throw", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), check), fuzzParameters());
});

Deno.test("fuzz: a valid config with lines removed, repeated or replaced never makes it throw", () => {
  const lines = VALID.split("\n");
  const lineArbitrary = fc.oneof(
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.constantFrom("[node]", "[[x]]", 'id = "', "port = 99999999999999999999", "a.b.c = 1", "="),
  );
  const editArbitrary = fc.array(
    fc.tuple(
      fc.nat({ max: lines.length - 1 }),
      fc.constantFrom("drop", "repeat", "replace"),
      lineArbitrary,
    ),
    { maxLength: 4 },
  );
  fc.assert(
    fc.property(editArbitrary, (edits) => {
      const edited = [...lines];
      for (const [position, action, replacement] of edits) {
        const at = position % Math.max(1, edited.length);
        if (action === "drop") edited.splice(at, 1);
        else if (action === "repeat") edited.splice(at, 0, edited[at] ?? "");
        else edited[at] = replacement;
      }
      check(edited.join("\n"));
    }),
    fuzzParameters(),
  );
});
