/**
 * The schema of hactl.toml: every section and key, its type, check, default and explanation.
 * The same table drives validation, environment and flag overrides, and the commented template,
 * so the three cannot drift apart.
 *
 * @module
 */
import type { NodeId, SyncMode } from "../core/types.ts";
import * as defaults from "./defaults.ts";
import type { TomlValue } from "./toml_subset.ts";
import { cidrProblem } from "./network_address.ts";

/** A host and port, the shape the transport and servers take. */
export interface HostPort {
  readonly hostname: string;
  readonly port: number;
}

/** A peer to contact when joining: its node id and Raft address. */
export interface PeerSpec extends HostPort {
  readonly id: NodeId;
  /** The peer's Postgres port; null: the same as this node's postgres.port. */
  readonly postgresPort: number | null;
  /** The peer's API port; null: the same as this node's api.listen port. */
  readonly apiPort: number | null;
}

/** One `name=value` Postgres setting. */
export interface PostgresParameter {
  readonly name: string;
  readonly value: string;
}

/** hactl's node configuration, validated. */
export interface AgentConfig {
  readonly node: {
    readonly id: NodeId;
    readonly dataDir: string;
    /** The Linux watchdog device kept alive while primary, or null (not used). */
    readonly hardwareWatchdog: string | null;
  };
  readonly cluster: {
    readonly name: string;
    readonly secretFile: string;
    readonly peers: readonly PeerSpec[];
    readonly syncMode: SyncMode;
    /** null: no limit. */
    readonly maxLagBytes: number | null;
  };
  readonly raft: {
    readonly listen: HostPort;
    readonly advertise: HostPort;
    readonly tickMs: number;
    readonly electionTimeoutTicks: number;
    readonly electionTimeoutJitterTicks: number;
    readonly heartbeatIntervalTicks: number;
    readonly clockDriftPermille: number;
  };
  readonly api: {
    readonly listen: HostPort;
    /** How long the primary health checks answer 503 after this node gains write authority. */
    readonly primaryHoldMs: number;
    /** Status, metrics and documents need the read-only (or admin) token; health checks never. */
    readonly requireReadToken: boolean;
  };
  /** listen is null when the gateway is off. */
  readonly gateway: { readonly listen: HostPort | null; readonly maxConnections: number };
  readonly postgres: {
    /** null: look for the binaries on PATH and in the usual directories. */
    readonly binDir: string | null;
    readonly dataDir: string;
    readonly listenAddress: string;
    readonly port: number;
    readonly advertiseHost: string;
    readonly runAsUser: string;
    readonly replicationUser: string;
    readonly superuser: string;
    readonly parameters: readonly PostgresParameter[];
    /** Networks (CIDR) whose clients pg_hba.conf admits; replication only from members. */
    readonly clientNetworks: readonly string[];
  };
  /** Commands run on Postgres events (Patroni's callbacks); null: none. */
  readonly hooks: {
    readonly onRoleChange: string | null;
    readonly onStart: string | null;
    readonly onStop: string | null;
    /** A hook still running after this long is killed. */
    readonly timeoutMs: number;
  };
  /** How the agent and its watchdog write log lines. */
  readonly log: {
    readonly format: "text" | "json";
    /** Lines below this level are dropped (`hactl run --log-level` overrides it). */
    readonly level: "debug" | "info" | "warn" | "error";
  };
  /** TLS for Postgres and the REST API; absent (configs built in code): off. */
  readonly tls?: TlsConfig;
}

/** The `[tls]` section: off, or the cluster CA and this node's certificate and key (PEM). */
export interface TlsConfig {
  readonly enabled: boolean;
  readonly caFile: string | null;
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

/** Sections in file order, with the comment the template puts above each. */
export const CONFIG_SECTIONS = {
  node: "This node's identity and where hactl keeps its own state.",
  cluster: "The cluster this node belongs to. Every member must use the same name and secret.",
  raft: "The embedded Raft group: peer-to-peer address and timing.",
  api:
    "REST API and Patroni-style health endpoints (/primary, /replica, /health) for load balancers.",
  gateway: "Optional TCP gateway that always forwards to the current primary.",
  postgres: "The local PostgreSQL server that hactl supervises.",
  log: "How the agent and its watchdog write their log lines (to standard error).",
  hooks: "Commands run on Postgres events, e.g. to move a virtual IP (Patroni's callbacks).",
  tls:
    "TLS for Postgres (clients and replication), the REST API and the Raft port, with a cluster CA.",
} as const;

/** A section name. */
export type ConfigSection = keyof typeof CONFIG_SECTIONS;

/** Every key, as "section.key", in template order. */
export const CONFIG_KEY_PATHS = [
  "node.id",
  "node.data_dir",
  "node.hardware_watchdog",
  "cluster.name",
  "cluster.secret_file",
  "cluster.peers",
  "cluster.sync_mode",
  "cluster.max_lag_bytes",
  "raft.listen",
  "raft.advertise",
  "raft.tick_ms",
  "raft.election_timeout_ticks",
  "raft.election_timeout_jitter_ticks",
  "raft.heartbeat_interval_ticks",
  "raft.clock_drift_permille",
  "api.listen",
  "api.primary_hold_ms",
  "api.require_read_token",
  "gateway.listen",
  "gateway.max_connections",
  "postgres.bin_dir",
  "postgres.data_dir",
  "postgres.listen_address",
  "postgres.port",
  "postgres.advertise_host",
  "postgres.run_as_user",
  "postgres.replication_user",
  "postgres.superuser",
  "postgres.parameters",
  "postgres.client_networks",
  "log.format",
  "log.level",
  "hooks.on_role_change",
  "hooks.on_start",
  "hooks.on_stop",
  "hooks.timeout_ms",
  "tls.enabled",
  "tls.ca_file",
  "tls.cert_file",
  "tls.key_file",
] as const;

/** A key of the configuration, "section.key". */
export type ConfigKeyPath = typeof CONFIG_KEY_PATHS[number];

/** How a key's text is read from an environment variable or a flag. */
export type FieldKind = "string" | "integer" | "boolean" | "string-array" | "integer-or-string";

/** Everything known about one key. */
export interface ConfigField {
  readonly kind: FieldKind;
  /** Returns null for a valid value, else what was expected ("expected a port 1-65535"). */
  readonly check: (value: TomlValue) => string | null;
  /** `required`: must be set; `optional`: may be left out (no default); else the default. */
  readonly default: TomlValue | "required" | "optional";
  /** Comment lines for the template. */
  readonly help: readonly string[];
  /** A sample value (TOML text) for the template when the key has no value. */
  readonly example: string;
}

/** Node ids and cluster names: what the transport's frames can carry. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_PATTERN = /^[0-9A-Fa-f:.]{2,45}$/;
const ROLE_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const PARAMETER_NAME_PATTERN = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const MAX_PEERS = 64;
const MAX_PARAMETERS = 200;
const MAX_CLIENT_NETWORKS = 100;
/** Settings hactl writes itself; setting them by hand would fight hactl. */
export const MANAGED_POSTGRES_PARAMETERS: readonly string[] = [
  "port",
  "listen_addresses",
  "hot_standby",
  "primary_conninfo",
  "primary_slot_name",
  "synchronous_standby_names",
  "synchronous_commit",
  "wal_level",
  "wal_log_hints",
  "restore_command",
  "recovery_target_timeline",
  "data_directory",
];

const string = (value: TomlValue) => value.kind === "string" ? value.value : null;

function idCheck(what: string) {
  return (value: TomlValue) =>
    ID_PATTERN.test(string(value) ?? "") ? null : `expected ${what} (1-63 letters, digits, _ or -)`;
}

function absolutePathCheck(value: TomlValue): string | null {
  const text = string(value);
  return text !== null && text.startsWith("/") && !text.includes("\0")
    ? null
    : "expected an absolute path";
}

function integerCheck(minimum: number, maximum: number, what: string) {
  return (value: TomlValue) =>
    value.kind === "integer" && value.value >= minimum && value.value <= maximum
      ? null
      : `expected ${what}`;
}

function hostPortCheck(value: TomlValue): string | null {
  const text = string(value);
  return text !== null && parseHostPort(text) !== null
    ? null
    : 'expected "host:port" with a port 1-65535';
}

function hostCheck(value: TomlValue): string | null {
  const text = string(value);
  return text !== null && isHost(text) ? null : "expected a host name or IP address";
}

function roleCheck(what: string) {
  return (value: TomlValue) =>
    ROLE_PATTERN.test(string(value) ?? "")
      ? null
      : `expected ${what} (lowercase letters, digits and _)`;
}

function peersCheck(value: TomlValue): string | null {
  if (value.kind !== "string-array") return 'expected an array of "id=host:port" strings';
  if (value.value.length > MAX_PEERS) return `expected at most ${MAX_PEERS} peers`;
  const seen = new Set<string>();
  for (const [position, item] of value.value.entries()) {
    const peer = parsePeer(item);
    if (peer === null) {
      return `element ${position + 1} ${JSON.stringify(item)} is not ` +
        `"id=host:port" optionally followed by ",postgres=PORT,api=PORT"`;
    }
    if (seen.has(peer.id)) return `peer ${peer.id} is listed twice`;
    seen.add(peer.id);
  }
  return null;
}

function parametersCheck(value: TomlValue): string | null {
  if (value.kind !== "string-array") return 'expected an array of "name=value" strings';
  if (value.value.length > MAX_PARAMETERS) return `expected at most ${MAX_PARAMETERS} parameters`;
  for (const [position, item] of value.value.entries()) {
    const parameter = parseParameter(item);
    if (parameter === null) {
      return `element ${position + 1} ${JSON.stringify(item)} is not "name=value"`;
    }
    if (MANAGED_POSTGRES_PARAMETERS.includes(parameter.name)) {
      return `${parameter.name} is managed by hactl; remove it (see the [postgres] keys)`;
    }
  }
  return null;
}

function networksCheck(value: TomlValue): string | null {
  if (value.kind !== "string-array") return 'expected an array of networks such as "10.0.0.0/8"';
  if (value.value.length > MAX_CLIENT_NETWORKS) {
    return `expected at most ${MAX_CLIENT_NETWORKS} networks`;
  }
  for (const [position, item] of value.value.entries()) {
    const problem = cidrProblem(item);
    if (problem !== null) return `element ${position + 1}: ${problem}`;
  }
  return null;
}

/** Every key's schema. */
export const CONFIG_FIELDS: Readonly<Record<ConfigKeyPath, ConfigField>> = {
  "node.id": {
    kind: "string",
    check: idCheck("a node id"),
    default: "required",
    help: ["Unique name of this node in the cluster, e.g. its short host name."],
    example: '"node1"',
  },
  "node.data_dir": {
    kind: "string",
    check: absolutePathCheck,
    default: { kind: "string", value: defaults.DEFAULT_DATA_DIR },
    help: ["Where hactl keeps its Raft log, snapshots and node identity (not the Postgres data)."],
    example: `"${defaults.DEFAULT_DATA_DIR}"`,
  },
  "node.hardware_watchdog": {
    kind: "string",
    check: absolutePathCheck,
    default: "optional",
    help: [
      "Linux watchdog device kept alive while this node is primary, the last resort of fencing:",
      "if hactl's watchdog process stops, the machine is reset when the device's timeout runs",
      "out (set it well above the lease, e.g. softdog soft_margin=10). The OS user Postgres runs",
      "as needs write access to it. Leave out to not use one.",
    ],
    example: '"/dev/watchdog"',
  },
  "cluster.name": {
    kind: "string",
    check: idCheck("a cluster name"),
    default: "required",
    help: ["Name of the cluster; messages from members of another cluster are refused."],
    example: '"main"',
  },
  "cluster.secret_file": {
    kind: "string",
    check: absolutePathCheck,
    default: "required",
    help: [
      "File holding the shared cluster secret that authenticates peer messages.",
      "Must not be readable by other users (chmod 600); `hactl init` creates one.",
    ],
    example: '"/etc/hactl/cluster.secret"',
  },
  "cluster.peers": {
    kind: "string-array",
    check: peersCheck,
    default: { kind: "string-array", value: [] },
    help: [
      'Every other member, as "id=host:port" (its raft.advertise address), optionally',
      'followed by ",postgres=PORT,api=PORT" when its ports differ from this node\'s.',
      "The leader adds listed nodes that are not yet members as learners; each is promoted",
      "to voter once its clone has caught up. List the same members on every node.",
    ],
    example: '["node2=10.0.0.2:7401", "node3=10.0.0.3:7401"]',
  },
  "cluster.sync_mode": {
    kind: "string",
    check: (value) =>
      string(value) === "quorum" || string(value) === "asynchronous"
        ? null
        : 'expected "quorum" or "asynchronous"',
    default: { kind: "string", value: defaults.DEFAULT_SYNC_MODE },
    help: [
      '"quorum": a commit is acknowledged once a majority of members has it, so failover',
      'never loses an acknowledged commit. "asynchronous": faster commits, failover may lose',
      "the last ones. The first leader records its value for the whole cluster; change it",
      "later with hactl edit-config --set sync_mode=...",
    ],
    example: '"quorum"',
  },
  "cluster.max_lag_bytes": {
    kind: "integer-or-string",
    check: (value) =>
      (value.kind === "integer" && value.value >= 0) || string(value) === defaults.UNLIMITED_LAG
        ? null
        : `expected a number of bytes >= 0 or "${defaults.UNLIMITED_LAG}"`,
    default: { kind: "integer", value: defaults.DEFAULT_MAX_LAG_BYTES },
    help: [
      "A standby further behind the primary than this many bytes of WAL is never promoted",
      `automatically. "${defaults.UNLIMITED_LAG}" removes the limit. The first leader records`,
      "its value for the whole cluster (later: hactl edit-config --set maximum_lag_on_failover=...).",
    ],
    example: String(defaults.DEFAULT_MAX_LAG_BYTES),
  },
  "raft.listen": {
    kind: "string",
    check: hostPortCheck,
    default: { kind: "string", value: defaults.DEFAULT_RAFT_LISTEN },
    help: ["Address the Raft transport listens on for peers."],
    example: `"${defaults.DEFAULT_RAFT_LISTEN}"`,
  },
  "raft.advertise": {
    kind: "string",
    check: hostPortCheck,
    default: "optional",
    help: [
      "Address peers use to reach this node's Raft port. Required when raft.listen is a",
      "wildcard address (0.0.0.0 or ::); otherwise it defaults to raft.listen.",
    ],
    example: '"10.0.0.1:7401"',
  },
  "raft.tick_ms": {
    kind: "integer",
    check: integerCheck(1, 10_000, "a tick of 1-10000 ms"),
    default: { kind: "integer", value: defaults.DEFAULT_TICK_MS },
    help: ["Length of one Raft tick in milliseconds; the settings below count in ticks."],
    example: String(defaults.DEFAULT_TICK_MS),
  },
  "raft.election_timeout_ticks": {
    kind: "integer",
    check: integerCheck(2, 100_000, "a number of ticks from 2 to 100000"),
    default: { kind: "integer", value: defaults.DEFAULT_ELECTION_TIMEOUT_TICKS },
    help: [
      "A follower that hears no leader for this many ticks (plus jitter) starts an election.",
      "The leader lease is derived from it: lower means faster failover, more false alarms.",
    ],
    example: String(defaults.DEFAULT_ELECTION_TIMEOUT_TICKS),
  },
  "raft.election_timeout_jitter_ticks": {
    kind: "integer",
    check: integerCheck(1, 100_000, "a number of ticks from 1 to 100000"),
    default: { kind: "integer", value: defaults.DEFAULT_ELECTION_TIMEOUT_JITTER_TICKS },
    help: ["Random extra ticks added to each election timeout, so that candidates rarely tie."],
    example: String(defaults.DEFAULT_ELECTION_TIMEOUT_JITTER_TICKS),
  },
  "raft.heartbeat_interval_ticks": {
    kind: "integer",
    check: integerCheck(1, 100_000, "a number of ticks from 1 to 100000"),
    default: { kind: "integer", value: defaults.DEFAULT_HEARTBEAT_INTERVAL_TICKS },
    help: ["The leader sends heartbeats (and renews its lease) every this many ticks."],
    example: String(defaults.DEFAULT_HEARTBEAT_INTERVAL_TICKS),
  },
  "raft.clock_drift_permille": {
    kind: "integer",
    check: integerCheck(0, 499, "a drift of 0-499 permille"),
    default: { kind: "integer", value: defaults.DEFAULT_CLOCK_DRIFT_PERMILLE },
    help: [
      "Largest difference between the clock rates of two members, in parts per thousand.",
      "The lease is shortened by it; raise it only if your clocks are known to drift more.",
    ],
    example: String(defaults.DEFAULT_CLOCK_DRIFT_PERMILLE),
  },
  "api.listen": {
    kind: "string",
    check: hostPortCheck,
    default: "optional",
    help: [
      "Address of the REST and health API. Defaults to the host of raft.advertise, port",
      `${defaults.DEFAULT_API_PORT}: the address the CLI, the other members and HAProxy use.`,
    ],
    example: `"10.0.0.1:${defaults.DEFAULT_API_PORT}"`,
  },
  "api.primary_hold_ms": {
    kind: "integer",
    check: integerCheck(0, 600_000, "a time of 0-600000 ms"),
    default: { kind: "integer", value: defaults.DEFAULT_PRIMARY_HOLD_MS },
    help: [
      "After this node gains write authority, /, /primary, /read-write and /leader answer 503",
      "for this long, so that a load balancer marks the old primary DOWN before it marks this",
      "one UP. Set it to at least HAProxy's fall x inter (Patroni's haproxy.cfg: 3 x 3 s).",
      "0 turns it off. The gateway and libpq clients are not delayed.",
    ],
    example: String(defaults.DEFAULT_PRIMARY_HOLD_MS),
  },
  "api.require_read_token": {
    kind: "boolean",
    check: (value) => value.kind === "boolean" ? null : "expected true or false",
    default: { kind: "boolean", value: false },
    help: [
      "true: GET /status, /metrics, /cluster, /patroni, /history, /config and every other read",
      "except the health checks and probes need Authorization: Bearer <token> (hactl token",
      "--read-only prints one for Prometheus). false keeps them open, as before.",
    ],
    example: "false",
  },
  "gateway.listen": {
    kind: "string",
    check: hostPortCheck,
    default: "optional",
    help: ["Address of the gateway; leave it out to run without a gateway."],
    example: '"0.0.0.0:6432"',
  },
  "gateway.max_connections": {
    kind: "integer",
    check: integerCheck(1, 65_535, "a number of connections 1-65535"),
    default: { kind: "integer", value: defaults.DEFAULT_GATEWAY_MAX_CONNECTIONS },
    help: [
      "Most client connections the gateway proxies at once; further ones are closed at once.",
      "Keep it at or below the primary's max_connections.",
    ],
    example: String(defaults.DEFAULT_GATEWAY_MAX_CONNECTIONS),
  },
  "postgres.bin_dir": {
    kind: "string",
    check: absolutePathCheck,
    default: "optional",
    help: ["Directory of initdb, pg_ctl, pg_basebackup, pg_rewind; found on PATH when left out."],
    example: '"/usr/lib/postgresql/15/bin"',
  },
  "postgres.data_dir": {
    kind: "string",
    check: absolutePathCheck,
    default: "required",
    help: ["The Postgres data directory; hactl creates it (initdb or pg_basebackup)."],
    example: '"/var/lib/postgresql/15/hactl"',
  },
  "postgres.listen_address": {
    kind: "string",
    check: (value) => string(value) === "*" ? null : hostCheck(value),
    default: { kind: "string", value: defaults.DEFAULT_POSTGRES_LISTEN_ADDRESS },
    help: ['Address Postgres listens on (its listen_addresses); "*" for every interface.'],
    example: `"${defaults.DEFAULT_POSTGRES_LISTEN_ADDRESS}"`,
  },
  "postgres.port": {
    kind: "integer",
    check: integerCheck(1, 65_535, "a port 1-65535"),
    default: { kind: "integer", value: defaults.DEFAULT_POSTGRES_PORT },
    help: ["Port Postgres listens on."],
    example: String(defaults.DEFAULT_POSTGRES_PORT),
  },
  "postgres.advertise_host": {
    kind: "string",
    check: hostCheck,
    default: "optional",
    help: [
      "Host other members and clients use to reach this Postgres; defaults to the host of raft.advertise.",
    ],
    example: '"10.0.0.1"',
  },
  "postgres.run_as_user": {
    kind: "string",
    check: (value) =>
      /^[a-z_][a-z0-9_-]{0,31}$/.test(string(value) ?? "") ? null : "expected an OS user name",
    default: { kind: "string", value: defaults.DEFAULT_POSTGRES_RUN_AS_USER },
    help: [
      "OS user that owns the data directory and runs Postgres (Postgres refuses to run as root).",
    ],
    example: `"${defaults.DEFAULT_POSTGRES_RUN_AS_USER}"`,
  },
  "postgres.replication_user": {
    kind: "string",
    check: roleCheck("a role name"),
    default: { kind: "string", value: defaults.DEFAULT_POSTGRES_REPLICATION_USER },
    help: ["Database role standbys use to stream WAL and clone the primary."],
    example: `"${defaults.DEFAULT_POSTGRES_REPLICATION_USER}"`,
  },
  "postgres.superuser": {
    kind: "string",
    check: roleCheck("a role name"),
    default: { kind: "string", value: defaults.DEFAULT_POSTGRES_SUPERUSER },
    help: ["Database superuser hactl connects as for health checks, fencing and pg_rewind."],
    example: `"${defaults.DEFAULT_POSTGRES_SUPERUSER}"`,
  },
  "postgres.parameters": {
    kind: "string-array",
    check: parametersCheck,
    default: { kind: "string-array", value: [] },
    help: [
      'Extra postgresql.conf settings as "name=value": the first leader records them for the',
      "whole cluster, applied on every member; later: hactl edit-config --set",
      "postgresql.parameters.NAME=VALUE (a later change of this key is not read).",
      "Settings hactl manages (port, listen_addresses, synchronous_standby_names, ...) are refused.",
    ],
    example: '["shared_buffers=256MB", "max_connections=200"]',
  },
  "postgres.client_networks": {
    kind: "string-array",
    check: networksCheck,
    default: { kind: "string-array", value: [...defaults.DEFAULT_CLIENT_NETWORKS] },
    help: [
      "Networks (CIDR) from which pg_hba.conf admits database clients, always with a password",
      "(scram-sha-256). The default admits any address, as before this setting existed;",
      'narrow it to your application networks, e.g. ["10.1.0.0/16"]. Replication is admitted',
      "only from the members' own addresses, whatever this says.",
    ],
    example: '["10.1.0.0/16", "fd00:1::/64"]',
  },
  "hooks.on_role_change": hookField(
    "when the local Postgres becomes primary, replica or demoted (fenced)",
  ),
  "hooks.on_start": hookField("when the local Postgres has started"),
  "hooks.on_stop": hookField("when the local Postgres has stopped"),
  "hooks.timeout_ms": {
    kind: "integer",
    check: (value) =>
      value.kind === "integer" && value.value >= 100 && value.value <= 600_000
        ? null
        : "expected milliseconds, 100 to 600000",
    default: { kind: "integer", value: 30_000 },
    help: ["A hook still running after this many milliseconds is killed (SIGKILL)."],
    example: "30000",
  },
  "log.format": {
    kind: "string",
    check: (value) =>
      string(value) === "text" || string(value) === "json" ? null : 'expected "text" or "json"',
    default: { kind: "string", value: "text" },
    help: [
      '"text": one readable line per event. "json": one JSON object per line (time, level,',
      "node, component, message) for log collectors; the watchdog's lines follow the same format.",
    ],
    example: '"text"',
  },
  "log.level": {
    kind: "string",
    check: (value) =>
      ["debug", "info", "warn", "error"].includes(string(value) ?? "")
        ? null
        : 'expected "debug", "info", "warn" or "error"',
    default: { kind: "string", value: "info" },
    help: ["Least important lines written; `hactl run --log-level` overrides it."],
    example: '"info"',
  },
  "tls.enabled": {
    kind: "boolean",
    check: (value) => value.kind === "boolean" ? null : "expected true or false",
    default: { kind: "boolean", value: false },
    help: [
      "true: Postgres runs with ssl = on and admits network clients only over TLS (hostssl),",
      "standbys, pg_basebackup and pg_rewind connect with sslmode=verify-full, and the REST API",
      "serves HTTPS, and the Raft port takes only peers with a certificate of the cluster CA",
      "naming their node id (subject CN). false: all three in plain text (hactl status, /patroni",
      "and hactl_tls_enabled say so). hactl init writes true and makes the certificates;",
      "hactl init --plain-text writes false.",
    ],
    example: "true",
  },
  "tls.ca_file": tlsFileField("The cluster CA certificate (PEM) that signed every member's."),
  "tls.cert_file": tlsFileField(
    "This node's certificate (PEM); its subjectAltName names the hosts members reach it by.",
  ),
  "tls.key_file": tlsFileField("This node's private key (PEM), mode 0600."),
};

function tlsFileField(help: string): ConfigField {
  return {
    kind: "string",
    check: absolutePathCheck,
    default: "optional",
    help: [help, "Required when tls.enabled = true; hactl init creates it."],
    example: '"/etc/hactl/tls/ca.crt"',
  };
}

/** Reads "host:port" or "[ipv6]:port"; null when malformed or the port is outside 1-65535. */
export function parseHostPort(text: string): HostPort | null {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\[\]]+):(\d{1,5})$/.exec(text);
  if (match === null) return null;
  const hostname = match[1]!;
  const port = Number(match[2]);
  const isIpv6 = text.startsWith("[");
  if (port < 1 || port > 65_535) return null;
  if (isIpv6 ? !IPV6_PATTERN.test(hostname) : !isHost(hostname)) return null;
  return { hostname, port };
}

/** Reads "id=host:port"; null when malformed. */
export function parsePeer(text: string): PeerSpec | null {
  const separator = text.indexOf("=");
  if (separator < 0) return null;
  const id = text.slice(0, separator);
  const [addressText, ...options] = text.slice(separator + 1).split(",");
  const address = parseHostPort(addressText ?? "");
  if (!ID_PATTERN.test(id) || address === null) return null;
  let postgresPort: number | null = null;
  let apiPort: number | null = null;
  for (const option of options) {
    const match = /^(postgres|api)=(\d{1,5})$/.exec(option.trim());
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) return null;
    if (match[1] === "postgres") postgresPort = port;
    else apiPort = port;
  }
  return { id, ...address, postgresPort, apiPort };
}

/** Reads "name=value"; null when the name is not a Postgres setting name. */
export function parseParameter(text: string): PostgresParameter | null {
  const separator = text.indexOf("=");
  if (separator < 0) return null;
  const name = text.slice(0, separator).trim();
  return PARAMETER_NAME_PATTERN.test(name)
    ? { name, value: text.slice(separator + 1).trim() }
    : null;
}

/** True for 0.0.0.0, :: and the like: listening everywhere, not an address peers can use. */
export function isWildcardHost(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::" || hostname === "*";
}

function isHost(text: string): boolean {
  return HOSTNAME_PATTERN.test(text) || (text.includes(":") && IPV6_PATTERN.test(text));
}

/** A hook command key: optional, a shell command line run with Patroni's three arguments. */
function hookField(when: string): ConfigField {
  return {
    kind: "string",
    check: (value) =>
      // One line: no control characters.
      // deno-lint-ignore no-control-regex
      value.kind === "string" && value.value.trim() !== "" && !/[\x00-\x1f]/.test(value.value)
        ? null
        : "expected a command line on one line",
    default: "optional",
    help: [
      `Run ${when}, as \`COMMAND ACTION ROLE CLUSTER\` (Patroni's arguments; ROLE is`,
      "primary, replica or demoted). Hooks run one at a time, never hold up the agent, and",
      "are killed after hooks.timeout_ms.",
    ],
    example: '"/usr/local/bin/vip-manager-hook"',
  };
}
