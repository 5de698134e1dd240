/**
 * hactl.toml validation: a good file becomes the expected typed config with defaults filled in;
 * every kind of mistake is reported, all at once, with the file line, the key, the wrong value
 * and what was expected (unknown keys with a did-you-mean); environment variables and flags
 * override the file with the same checks and clear origins.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  ConfigError,
  environmentName,
  loadAgentConfig,
  overridesFromEnvironment,
  overridesFromFlags,
  parseAgentConfig,
} from "../../src/config/config_file.ts";
import type { AgentConfig } from "../../src/config/config_schema.ts";

const MINIMAL = `
[node]
id = "node1"

[cluster]
name = "main"
secret_file = "/etc/hactl/cluster.secret"

[raft]
advertise = "10.0.0.1:7401"

[postgres]
data_dir = "/var/lib/postgresql/hactl"
`;

/** What MINIMAL means once every default is applied. */
const MINIMAL_CONFIG: AgentConfig = {
  node: { id: "node1", dataDir: "/var/lib/hactl", hardwareWatchdog: null },
  cluster: {
    name: "main",
    secretFile: "/etc/hactl/cluster.secret",
    peers: [],
    syncMode: "quorum",
    maxLagBytes: 16 * 1024 * 1024,
  },
  raft: {
    listen: { hostname: "0.0.0.0", port: 7401 },
    advertise: { hostname: "10.0.0.1", port: 7401 },
    tickMs: 50,
    electionTimeoutTicks: 16,
    electionTimeoutJitterTicks: 16,
    heartbeatIntervalTicks: 2,
    clockDriftPermille: 10,
  },
  api: {
    listen: { hostname: "10.0.0.1", port: 8008 },
    primaryHoldMs: 10_000,
    requireReadToken: false,
  },
  gateway: { listen: null, maxConnections: 1024 },
  postgres: {
    binDir: null,
    dataDir: "/var/lib/postgresql/hactl",
    listenAddress: "0.0.0.0",
    port: 5432,
    advertiseHost: "10.0.0.1",
    runAsUser: "postgres",
    replicationUser: "replicator",
    superuser: "postgres",
    parameters: [],
    clientNetworks: ["0.0.0.0/0", "::/0"],
  },
  hooks: { onRoleChange: null, onStart: null, onStop: null, timeoutMs: 30_000 },
  log: { format: "text", level: "info" },
  tls: { enabled: false, caFile: null, certFile: null, keyFile: null },
};

function errorsOf(
  text: string,
  overrides: Parameters<typeof parseAgentConfig>[1]["overrides"] = [],
): readonly string[] {
  const result = parseAgentConfig(text, { fileName: "hactl.toml", overrides });
  assert(!result.ok, "the configuration was accepted");
  return result.errors;
}

function configOf(
  text: string,
  overrides: Parameters<typeof parseAgentConfig>[1]["overrides"] = [],
): AgentConfig {
  const result = parseAgentConfig(text, { fileName: "hactl.toml", overrides });
  assert(result.ok, result.ok ? "" : result.errors.join("\n"));
  return result.config;
}

/** MINIMAL with `lines` added at the end of `[section]` (line numbers of MINIMAL stay put). */
function withLines(section: string, ...lines: string[]): string {
  return MINIMAL.replace(`[${section}]\n`, `[${section}]\n${lines.join("\n")}\n`);
}

Deno.test("a minimal file gets every default", () => {
  assertEquals(configOf(MINIMAL), MINIMAL_CONFIG);
});

Deno.test("every key can be set and reaches the typed config", () => {
  const config = configOf(`
[node]
id = "pg-east_1"
data_dir = "/srv/hactl"
hardware_watchdog = "/dev/watchdog"
[cluster]
name = "prod"
secret_file = "/etc/hactl/secret"
peers = ["node2=10.0.0.2:7401", "node3=[fd00::3]:7401", "node4=db4.example.com:7000"]
sync_mode = "asynchronous"
max_lag_bytes = "unlimited"
[raft]
listen = "10.0.0.1:7500"
tick_ms = 20
election_timeout_ticks = 40
election_timeout_jitter_ticks = 10
heartbeat_interval_ticks = 5
clock_drift_permille = 50
[api]
listen = "0.0.0.0:8009"
[gateway]
listen = "0.0.0.0:6432"
[postgres]
bin_dir = "/usr/lib/postgresql/15/bin"
data_dir = "/data/pg"
listen_address = "*"
port = 5433
advertise_host = "db1.example.com"
run_as_user = "pg"
replication_user = "repl"
superuser = "admin"
parameters = ["shared_buffers = 256MB", "log_line_prefix=%m [%p] "]
`);
  assertEquals(config.node, {
    id: "pg-east_1",
    dataDir: "/srv/hactl",
    hardwareWatchdog: "/dev/watchdog",
  });
  assertEquals(config.cluster.peers, [
    { id: "node2", hostname: "10.0.0.2", port: 7401, postgresPort: null, apiPort: null },
    { id: "node3", hostname: "fd00::3", port: 7401, postgresPort: null, apiPort: null },
    { id: "node4", hostname: "db4.example.com", port: 7000, postgresPort: null, apiPort: null },
  ]);
  assertEquals(config.cluster.syncMode, "asynchronous");
  assertEquals(config.cluster.maxLagBytes, null);
  // Without advertise, a non-wildcard listen address is what peers are told.
  assertEquals(config.raft.advertise, { hostname: "10.0.0.1", port: 7500 });
  assertEquals(config.raft.tickMs, 20);
  assertEquals(config.gateway.listen, { hostname: "0.0.0.0", port: 6432 });
  assertEquals(config.postgres.parameters, [
    { name: "shared_buffers", value: "256MB" },
    { name: "log_line_prefix", value: "%m [%p]" },
  ]);
  assertEquals(config.postgres.advertiseHost, "db1.example.com");
});

/** [what, file text, the error expected]. */
const MISTAKES: readonly [string, string, string][] = [
  [
    "a port out of range",
    withLines("postgres", "port = 99999"),
    "hactl.toml:13: postgres.port = 99999: expected a port 1-65535",
  ],
  [
    "a number given as a string",
    withLines("postgres", 'port = "5432"'),
    'hactl.toml:13: postgres.port = "5432": expected a port 1-65535',
  ],
  [
    "a float for an integer",
    withLines("raft", "tick_ms = 50.0"),
    "hactl.toml:10: raft.tick_ms = 50.0: expected a tick of 1-10000 ms",
  ],
  [
    "a bad node id",
    MINIMAL.replace('"node1"', '"node 1"'),
    'hactl.toml:3: node.id = "node 1": expected a node id (1-63 letters, digits, _ or -)',
  ],
  [
    "a relative path",
    withLines("node", 'data_dir = "var/lib"'),
    'hactl.toml:3: node.data_dir = "var/lib": expected an absolute path',
  ],
  [
    "a bad sync mode",
    withLines("cluster", 'sync_mode = "async"'),
    'hactl.toml:6: cluster.sync_mode = "async": expected "quorum" or "asynchronous"',
  ],
  [
    "a negative lag",
    withLines("cluster", "max_lag_bytes = -1"),
    'hactl.toml:6: cluster.max_lag_bytes = -1: expected a number of bytes >= 0 or "unlimited"',
  ],
  [
    "a peer without a port",
    withLines("cluster", 'peers = ["node2=10.0.0.2"]'),
    'hactl.toml:6: cluster.peers = ["node2=10.0.0.2"]: element 1 "node2=10.0.0.2" is not ' +
    '"id=host:port" optionally followed by ",postgres=PORT,api=PORT"',
  ],
  [
    "a peer listed twice",
    withLines("cluster", 'peers = ["a=h:1", "a=h:2"]'),
    'hactl.toml:6: cluster.peers = ["a=h:1", "a=h:2"]: peer a is listed twice',
  ],
  [
    "an address without a port",
    withLines("raft", 'listen = "10.0.0.1"'),
    'hactl.toml:10: raft.listen = "10.0.0.1": expected "host:port" with a port 1-65535',
  ],
  [
    "a parameter hactl manages",
    withLines("postgres", 'parameters = ["synchronous_standby_names=*"]'),
    'hactl.toml:13: postgres.parameters = ["synchronous_standby_names=*"]: synchronous_standby_names is managed by hactl; remove it (see the [postgres] keys)',
  ],
  [
    "a misspelt key",
    withLines("postgres", "prot = 5433"),
    "hactl.toml:13: postgres.prot is not a key; did you mean postgres.port?",
  ],
  [
    "a key in the wrong section",
    withLines("raft", "port = 5433"),
    "hactl.toml:10: raft.port is not a key of [raft]; did you mean postgres.port?",
  ],
  [
    "a misspelt section",
    `${MINIMAL}\n[postgre]\nport = 1\n`,
    "hactl.toml:15: [postgre] is not a section; did you mean [postgres]?",
  ],
  [
    "a key before any section",
    `debug = true\n${MINIMAL}`,
    "hactl.toml:1: debug is outside any section; put it under one of [node], [cluster], [raft], [api], [gateway], [postgres]",
  ],
  [
    "a missing required key",
    MINIMAL.replace('name = "main"\n', ""),
    'hactl.toml: cluster.name is missing: add name = "main" under [cluster]',
  ],
  [
    "a TOML syntax error",
    withLines("node", "x = yes"),
    "hactl.toml:3:5: yes: booleans are written true or false",
  ],
  [
    "a wildcard listen without advertise",
    MINIMAL.replace('advertise = "10.0.0.1:7401"\n', ""),
    `hactl.toml (default): raft.advertise is missing: raft.listen = "0.0.0.0:7401" listens everywhere, so add advertise = "<this node's address>:7401" under [raft]`,
  ],
  [
    "this node among its peers",
    withLines("cluster", 'peers = ["node1=10.0.0.1:7401"]'),
    "hactl.toml:6: cluster.peers lists this node (node1) itself; list only the other members",
  ],
  [
    "two services on one port",
    MINIMAL.replace("[postgres]\n", '[api]\nlisten = "127.0.0.1:5432"\n[postgres]\n'),
    "hactl.toml:13: api.listen uses port 5432, which postgres.port already uses; pick another port",
  ],
  [
    "timing the lease cannot work with",
    withLines("raft", "election_timeout_ticks = 6"),
    "hactl.toml:10: raft.election_timeout_ticks = 6, raft.heartbeat_interval_ticks = 2: heartbeatIntervalTicks (2) must be well under the lease",
  ],
];

Deno.test("each kind of mistake is reported with the line, the key, the wrong value and what is expected", () => {
  for (const [what, text, expected] of MISTAKES) {
    const errors = errorsOf(text);
    assert(
      errors.some((error) => error.startsWith(expected)),
      `${what}:\n  got      ${errors.join("\n           ")}\n  expected ${expected}`,
    );
    assertEquals(errors.length, 1, `${what}: ${errors.join(" | ")}`);
  }
});

Deno.test("an unknown key with no close match lists the section's keys", () => {
  const text = MINIMAL.replace("[postgres]\n", "[api]\ncolour = 1\n[postgres]\n");
  assertEquals(errorsOf(text), [
    "hactl.toml:13: api.colour is not a key; the keys of [api] are listen, primary_hold_ms, require_read_token",
  ]);
});

Deno.test("every problem of a file is reported at once, in file order", () => {
  const text = `
[node]
id = "no good"
dta_dir = "/x"
[cluster]
name = "main"
[postgres]
port = 0
data_dir = "/d"
[raft]
advertise = "10.0.0.1:7401"
tick_ms = 0
`;
  assertEquals(errorsOf(text), [
    'hactl.toml:3: node.id = "no good": expected a node id (1-63 letters, digits, _ or -)',
    "hactl.toml:4: node.dta_dir is not a key; did you mean node.data_dir?",
    "hactl.toml:8: postgres.port = 0: expected a port 1-65535",
    "hactl.toml:12: raft.tick_ms = 0: expected a tick of 1-10000 ms",
    'hactl.toml: cluster.secret_file is missing: add secret_file = "/etc/hactl/cluster.secret" under [cluster]',
  ]);
});

Deno.test("environment variables override the file and are checked with the same messages", () => {
  const environment = {
    HACTL_POSTGRES_PORT: "5433",
    HACTL_CLUSTER_PEERS: "node2=10.0.0.2:7401, node3=10.0.0.3:7401",
    HACTL_CLUSTER_MAX_LAG_BYTES: "unlimited",
    HACTL_GATEWAY_LISTEN: "0.0.0.0:6432",
    HACTL_LOG_FORMAT: "json",
    HACTL_AGENT_LOG: "/tmp/agent.log", // not a config section: belongs to another part of hactl
    PATH: "/usr/bin",
  };
  const config = configOf(MINIMAL, overridesFromEnvironment(environment));
  assertEquals(config.log.format, "json");
  assertEquals(config.postgres.port, 5433);
  assertEquals(config.cluster.peers.map((peer) => peer.id), ["node2", "node3"]);
  assertEquals(config.cluster.maxLagBytes, null);
  assertEquals(config.gateway.listen, { hostname: "0.0.0.0", port: 6432 });

  assertEquals(
    errorsOf(
      MINIMAL,
      overridesFromEnvironment({ HACTL_POSTGRES_PORT: "99999", HACTL_POSTGRES_PROT: "1" }),
    ),
    [
      "environment variable HACTL_POSTGRES_PROT: postgres.prot is not a key; did you mean HACTL_POSTGRES_PORT?",
      "environment variable HACTL_POSTGRES_PORT: postgres.port = 99999: expected a port 1-65535",
    ],
  );
  assertEquals(environmentName("raft.election_timeout_ticks"), "HACTL_RAFT_ELECTION_TIMEOUT_TICKS");
});

Deno.test("flags override the environment, which overrides the file", () => {
  const file = withLines("postgres", "port = 5000");
  const overrides = [
    ...overridesFromEnvironment({ HACTL_POSTGRES_PORT: "6000", HACTL_NODE_ID: "from-env" }),
    ...overridesFromFlags({ "postgres.port": "7000" }),
  ];
  const config = configOf(file, overrides);
  assertEquals(config.postgres.port, 7000);
  assertEquals(config.node.id, "from-env");
  assertEquals(
    errorsOf(MINIMAL, overridesFromFlags({ "raft.tick_ms": "fast", "postgres.prot": "1" })),
    [
      "command-line override postgres.prot: postgres.prot is not a key; did you mean postgres.port?",
      'command-line override raft.tick_ms: raft.tick_ms = "fast": expected a tick of 1-10000 ms',
    ],
  );
});

Deno.test("a required key may come from an override alone", () => {
  const text = MINIMAL.replace('id = "node1"\n', "");
  assert(errorsOf(text)[0]!.includes("node.id is missing"));
  assertEquals(configOf(text, overridesFromFlags({ "node.id": "node7" })).node.id, "node7");
});

Deno.test("loadAgentConfig reads a real file, merges overrides, and throws every problem at once", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl_config_" });
  try {
    const path = `${directory}/hactl.toml`;
    await Deno.writeTextFile(path, MINIMAL);
    const config = await loadAgentConfig(path, {
      environment: { HACTL_API_LISTEN: "127.0.0.1:9000" },
    });
    assertEquals(config.api.listen, { hostname: "127.0.0.1", port: 9000 });

    await Deno.writeTextFile(path, withLines("postgres", "port = 0", "prot = 1"));
    let thrown: unknown;
    try {
      await loadAgentConfig(path);
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof ConfigError);
    assertEquals(thrown.errors, [
      `${path}:13: postgres.port = 0: expected a port 1-65535`,
      `${path}:14: postgres.prot is not a key; did you mean postgres.port?`,
    ]);
    assert(thrown.message.includes(`\n  ${path}:14:`));

    let missing: unknown;
    try {
      await loadAgentConfig(`${directory}/absent.toml`);
    } catch (error) {
      missing = error;
    }
    assert(
      missing instanceof ConfigError && missing.message.includes("create one with hactl init"),
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
