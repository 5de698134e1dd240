/**
 * Defaults of the node configuration file. The Raft timing defaults match the core's
 * (src/core/config.ts): with a 50 ms tick an election starts 0.8-1.6 s after the leader went
 * silent and heartbeats go out every 100 ms, which keeps failover under two seconds.
 *
 * @module
 */

/** Length of one logical tick of the core, in milliseconds. */
export const DEFAULT_TICK_MS = 50;
/** Minimum election timeout, in ticks (800 ms at the default tick). */
export const DEFAULT_ELECTION_TIMEOUT_TICKS = 16;
/** Election timeouts are drawn in [timeout, timeout + jitter), in ticks. */
export const DEFAULT_ELECTION_TIMEOUT_JITTER_TICKS = 16;
/** A leader sends heartbeats every this many ticks (100 ms at the default tick). */
export const DEFAULT_HEARTBEAT_INTERVAL_TICKS = 2;
/** Assumed bound on the clock rate difference between nodes, in parts per thousand. */
export const DEFAULT_CLOCK_DRIFT_PERMILLE = 10;

/** Where hactl keeps its own state (Raft log, snapshots, node identity). */
export const DEFAULT_DATA_DIR = "/var/lib/hactl";
/** Default replication mode: no acknowledged commit is lost on failover. */
export const DEFAULT_SYNC_MODE = "quorum";
/** A standby further behind than this is not promoted automatically (16 MiB of WAL). */
export const DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024;
/** The value of `cluster.max_lag_bytes` that disables the lag limit. */
export const UNLIMITED_LAG = "unlimited";

/** Port of the Raft transport. */
export const DEFAULT_RAFT_PORT = 7401;
/** Raft listens on every interface by default (peers are on other machines). */
export const DEFAULT_RAFT_LISTEN = `0.0.0.0:${DEFAULT_RAFT_PORT}`;
/**
 * Port of the REST and health API. It listens on the host of raft.advertise by default: the
 * address the CLI, the peers' 409 hints and HAProxy's checks use to reach it.
 */
export const DEFAULT_API_PORT = 8008;

/** Postgres port. */
export const DEFAULT_POSTGRES_PORT = 5432;
/** Postgres listens on every interface so that standbys can stream from it. */
export const DEFAULT_POSTGRES_LISTEN_ADDRESS = "0.0.0.0";
/** OS user that owns the data directory and runs Postgres. */
export const DEFAULT_POSTGRES_RUN_AS_USER = "postgres";
/** Database role used for streaming replication and pg_basebackup. */
export const DEFAULT_POSTGRES_REPLICATION_USER = "replicator";
/** Database superuser hactl connects as (pg_rewind, health checks, fencing). */
export const DEFAULT_POSTGRES_SUPERUSER = "postgres";

/** Most client connections the gateway proxies at once. */
export const DEFAULT_GATEWAY_MAX_CONNECTIONS = 1024;
/**
 * Networks whose database clients pg_hba.conf admits (with scram-sha-256). Any address, as
 * before the setting existed: clients of existing clusters connect directly from anywhere,
 * and every entry still needs a password. Operators narrow it with postgres.client_networks.
 */
export const DEFAULT_CLIENT_NETWORKS: readonly string[] = ["0.0.0.0/0", "::/0"];

/**
 * api.primary_hold_ms: HAProxy marks a server DOWN after fall x inter (Patroni's stock
 * haproxy.cfg: 3 x 3 s = 9 s) and UP after rise x inter (2 x 3 s); a new primary that waits
 * 10 s is marked UP at least 13 s after it gained authority, after the old one is DOWN.
 */
export const DEFAULT_PRIMARY_HOLD_MS = 10_000;
