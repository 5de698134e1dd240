/**
 * The template `hactl init` writes parses back to exactly the configuration it was rendered
 * from, explains every key, and shows every default.
 */
import fc from "fast-check";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseAgentConfig } from "../../src/config/config_file.ts";
import {
  CONFIG_FIELDS,
  CONFIG_KEY_PATHS,
  CONFIG_SECTIONS,
} from "../../src/config/config_schema.ts";
import { renderConfigTemplate, type TemplateValues } from "../../src/config/config_template.ts";

function parse(text: string) {
  const result = parseAgentConfig(text, { fileName: "hactl.toml" });
  assert(result.ok, result.ok ? "" : `${result.errors.join("\n")}\n--- template ---\n${text}`);
  return result.config;
}

const REQUIRED: TemplateValues = {
  "node.id": "node1",
  "cluster.name": "main",
  "cluster.secret_file": "/etc/hactl/cluster.secret",
  "raft.advertise": "10.0.0.1:7401",
  "postgres.data_dir": "/var/lib/postgresql/hactl",
};

Deno.test("a template with only the required values parses back to the defaults", () => {
  const config = parse(renderConfigTemplate(REQUIRED));
  assertEquals(config.node, { id: "node1", dataDir: "/var/lib/hactl", hardwareWatchdog: null });
  assertEquals(config.raft.tickMs, 50);
  assertEquals(config.raft.electionTimeoutTicks, 16);
  assertEquals(config.raft.electionTimeoutJitterTicks, 16);
  assertEquals(config.raft.heartbeatIntervalTicks, 2);
  assertEquals(config.raft.clockDriftPermille, 10);
  assertEquals(config.gateway.listen, null);
  assertEquals(config.postgres.binDir, null);
});

Deno.test("every key is explained, its default shown, and the optional ones are written commented out", () => {
  const template = renderConfigTemplate(REQUIRED);
  for (const section of Object.keys(CONFIG_SECTIONS)) {
    assert(template.includes(`\n[${section}]\n`), section);
  }
  for (const path of CONFIG_KEY_PATHS) {
    const field = CONFIG_FIELDS[path];
    const key = path.split(".")[1]!;
    const block = template.split("\n\n").find((chunk) =>
      new RegExp(`^#? ?${key} = `, "m").test(chunk) && chunk.includes(field.help[0]!)
    );
    assert(block !== undefined, `${path} is not in the template with its explanation`);
    if (field.default === "required") assert(block.includes("# Required."), path);
    else if (field.default === "optional") assert(block.includes("# Optional."), path);
    else assert(block.includes("# Default: "), path);
  }
  assert(
    template.includes('# listen = "0.0.0.0:6432"'),
    "the gateway example is not commented out",
  );
});

const nodeId = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
const port = fc.integer({ min: 1, max: 65_535 });
const path = fc.array(fc.stringMatching(/^[a-z0-9_.-]{1,12}$/), { minLength: 1, maxLength: 4 }).map(
  (parts) => `/${parts.join("/")}`,
);

Deno.test("property: any valid values survive render and parse unchanged", () => {
  const valuesArbitrary = fc.record({
    id: nodeId,
    name: nodeId,
    peers: fc.uniqueArray(nodeId, { maxLength: 6 }),
    raftPort: fc.integer({ min: 1, max: 20_000 }),
    apiPort: fc.integer({ min: 20_001, max: 40_000 }),
    postgresPort: fc.integer({ min: 40_001, max: 65_535 }),
    dataDir: path,
    secretFile: path,
    // From 20 ms the default election timeout (16 ticks) still leaves a lease once the
    // margin grows with short ticks (src/config/core_config.ts); shorter ticks need a
    // longer election timeout, which the validation demands with its own message.
    tickMs: fc.integer({ min: 20, max: 10_000 }),
    parameters: fc.array(
      fc.tuple(fc.stringMatching(/^[a-z_]{1,20}$/), fc.string({ maxLength: 20 })),
      { maxLength: 4 },
    ),
    lag: fc.oneof(fc.constant("unlimited" as const), fc.maxSafeNat()),
  });
  fc.assert(
    fc.property(valuesArbitrary, port, (values, peerPort) => {
      const peers = values.peers.filter((peer) => peer !== values.id);
      const parameters = values.parameters.filter(([name]) =>
        !CONFIG_FIELDS["postgres.parameters"].check({ kind: "string-array", value: [`${name}=x`] })
      );
      const rendered = renderConfigTemplate({
        ...REQUIRED,
        "node.id": values.id,
        "cluster.name": values.name,
        "cluster.secret_file": values.secretFile,
        "cluster.peers": peers.map((peer) => `${peer}=10.0.0.9:${peerPort}`),
        "cluster.max_lag_bytes": values.lag,
        "raft.listen": `0.0.0.0:${values.raftPort}`,
        "raft.advertise": `10.0.0.1:${values.raftPort}`,
        "raft.tick_ms": values.tickMs,
        "api.listen": `127.0.0.1:${values.apiPort}`,
        "postgres.port": values.postgresPort,
        "postgres.data_dir": values.dataDir,
        "postgres.parameters": parameters.map(([name, value]) => `${name}=${value}`),
      });
      const config = parse(rendered);
      assertEquals(config.node.id, values.id);
      assertEquals(config.cluster.name, values.name);
      assertEquals(config.cluster.secretFile, values.secretFile);
      assertEquals(
        config.cluster.peers,
        peers.map((peer) => ({
          id: peer,
          hostname: "10.0.0.9",
          port: peerPort,
          postgresPort: null,
          apiPort: null,
        })),
      );
      assertEquals(config.cluster.maxLagBytes, values.lag === "unlimited" ? null : values.lag);
      assertEquals(config.raft.listen.port, values.raftPort);
      assertEquals(config.raft.tickMs, values.tickMs);
      assertEquals(config.api.listen.port, values.apiPort);
      assertEquals(config.postgres.port, values.postgresPort);
      assertEquals(config.postgres.dataDir, values.dataDir);
      assertEquals(
        config.postgres.parameters,
        parameters.map(([name, value]) => ({ name, value: value.trim() })),
      );
    }),
    { numRuns: 300 },
  );
});

Deno.test("rendering refuses a key the schema does not know", () => {
  let refused = "";
  try {
    renderConfigTemplate({ ...REQUIRED, "postgres.prot": 1 } as TemplateValues);
  } catch (error) {
    refused = String(error);
  }
  assert(refused.includes("postgres.prot is not a configuration key"), refused);
});
