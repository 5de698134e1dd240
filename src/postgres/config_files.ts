/**
 * The configuration files hactl owns in and beside a data directory: `hactl.conf` (included
 * from postgresql.conf), pg_hba.conf, pg_ident.conf, the password file, standby.signal and
 * keys of postgresql.auto.conf. They are rewritten after every clone and rewind, because
 * pg_basebackup and pg_rewind copy the source node's files.
 *
 * @module
 */

import { userInfo } from "node:os";
import { ownerFor, pathExists, writeFileDurably } from "./files.ts";
import { passwordFileOf, type PostgresSettings } from "./settings.ts";
import { clusterParametersFileOf } from "./cluster_parameters.ts";
import {
  clientTlsOptions,
  installTlsFiles,
  serverTlsSettings,
  tlsEnabled,
} from "./postgres_tls.ts";

/** The include line hactl appends to postgresql.conf. */
export const HACTL_INCLUDE_LINE = "include_if_exists = 'hactl.conf'";
/** Name of the pg_ident map that lets the agent's and Postgres' OS users in as superuser. */
export const IDENT_MAP_NAME = "hactl";
/** Bounds for replication, sized for a cluster of at most this many members plus tools. */
export const MAX_WAL_SENDERS = 16;
/** See {@link MAX_WAL_SENDERS}. */
export const MAX_REPLICATION_SLOTS = 16;

/** Quotes a value for postgresql.conf / postgresql.auto.conf. */
export function quoteConfigValue(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/** Quotes a value for a libpq connection string (key='value'). */
export function quoteConninfoValue(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** The text of hactl.conf: node-local addresses and the replication settings hactl needs. */
export function renderHactlConf(settings: PostgresSettings): string {
  const lines: Array<[string, string]> = [
    ["listen_addresses", quoteConfigValue(settings.listenAddress)],
    ["port", String(settings.port)],
    ["unix_socket_directories", quoteConfigValue(settings.socketDirectory)],
    ["cluster_name", quoteConfigValue(settings.applicationName)],
    ["wal_level", "replica"],
    ["wal_log_hints", "on"],
    ["max_wal_senders", String(MAX_WAL_SENDERS)],
    ["max_replication_slots", String(MAX_REPLICATION_SLOTS)],
    ["hot_standby", "on"],
    ["hot_standby_feedback", "on"],
    ["wal_keep_size", quoteConfigValue(`${settings.walKeepSizeMb}MB`)],
    ["password_encryption", "'scram-sha-256'"],
    // The live value is set by ALTER SYSTEM (postgresql.auto.conf), which takes precedence.
    ["synchronous_standby_names", "''"],
    // D1: a commit waits for the synchronous standbys. Role and database settings may still
    // override it; the primary reports them (durability_settings.ts).
    ["synchronous_commit", "on"],
    ["recovery_target_timeline", "'latest'"],
    // A standby told to follow a new primary retries its WAL receiver quickly (default 5 s):
    // in quorum-sync mode the new primary's first commit waits for it.
    ["wal_retrieve_retry_interval", "'200ms'"],
    ["logging_collector", "off"],
    ...serverTlsSettings(settings).map(([name, value]): [string, string] => [
      name,
      name === "ssl" ? value : quoteConfigValue(value),
    ]),
  ];
  return [
    "# Written by hactl from its configuration; rewritten after clone and rewind. Do not edit.",
    // First, so that every line below (what hactl needs) wins over a cluster parameter.
    `include_if_exists = ${quoteConfigValue(clusterParametersFileOf(settings))}`,
    ...lines.map(([name, value]) => `${name} = ${value}`),
    "",
  ].join("\n");
}

/**
 * The text of pg_hba.conf. Never `trust`: local connections use peer (mapped), network ones
 * scram-sha-256. It is the same whether or not the server is fenced: a fenced server lets
 * clients in and makes their sessions read-only (fence.ts says why), so that libpq's
 * multi-host connections step over it instead of failing on an authentication error.
 * Each line is one {@link PgHbaEntry}; add kinds of clients in {@link pgHbaEntries}.
 */
export function renderPgHba(settings: PostgresSettings): string {
  return [
    "# Written by hactl. Do not edit.",
    ...pgHbaEntries(settings).map((entry) =>
      [entry.type, entry.database, entry.user, entry.address, entry.method]
        .filter((field) => field !== null).join(" ")
    ),
    "",
  ].join("\n");
}

/** One line of pg_hba.conf. */
export interface PgHbaEntry {
  readonly type: "local" | "host" | "hostssl";
  readonly database: string;
  readonly user: string;
  /** The network (CIDR) of a `host` line; null for `local`. */
  readonly address: string | null;
  readonly method: string;
}

/**
 * The entries of pg_hba.conf in order: the superuser (the agent) and the replication user
 * (walsenders, pg_rewind, pg_basebackup) from `allowedNetworks` first, then ordinary clients
 * from `clientNetworks` (default: `allowedNetworks`).
 */
export function pgHbaEntries(settings: PostgresSettings): PgHbaEntry[] {
  // With TLS, a network client without TLS matches no line and is refused.
  const network = tlsEnabled(settings) ? "hostssl" : "host";
  const peer = `peer map=${IDENT_MAP_NAME}`;
  const entries: PgHbaEntry[] = [
    { type: "local", database: "all", user: settings.superuser, address: null, method: peer },
    {
      type: "local",
      database: "replication",
      user: settings.superuser,
      address: null,
      method: peer,
    },
    { type: "local", database: "all", user: "all", address: null, method: "peer" },
  ];
  // With TLS a replication connection (streaming, pg_basebackup) must also show a
  // certificate of the cluster CA (every member's libpq tools send the node's own): the
  // password alone, leaked, no longer lets a stranger stream the whole database or pose as
  // a synchronous standby. The SQL line stays password-only: the agent's rejoin check reads
  // a peer with the npm driver, which cannot send a client certificate under Deno.
  const streamingMethod = tlsEnabled(settings)
    ? "scram-sha-256 clientcert=verify-ca"
    : "scram-sha-256";
  for (const allowed of settings.allowedNetworks) {
    for (const database of ["replication", "all"]) {
      entries.push({
        type: network,
        database,
        user: settings.replicationUser,
        address: allowed,
        method: database === "replication" ? streamingMethod : "scram-sha-256",
      });
    }
  }
  for (const client of settings.clientNetworks ?? settings.allowedNetworks) {
    entries.push({
      type: network,
      database: "all",
      user: "all",
      address: client,
      method: "scram-sha-256",
    });
  }
  return entries;
}

/** The text of pg_ident.conf: Postgres' OS user and the agent's OS user map to the superuser. */
export function renderPgIdent(settings: PostgresSettings): string {
  const osUsers = new Set<string>([userInfo().username]);
  if (settings.runAsUser !== null) osUsers.add(settings.runAsUser);
  // root owns the data directory anyway; mapping it lets operators and the demo use the
  // socket whether the agent runs as root or as the postgres user.
  osUsers.add("root");
  return [
    "# Written by hactl. Do not edit.",
    ...[...osUsers].map((osUser) => `${IDENT_MAP_NAME} ${osUser} ${settings.superuser}`),
    "",
  ].join("\n");
}

/** Writes pg_hba.conf durably; the server needs a reload to use it. */
export async function writePgHba(
  settings: PostgresSettings,
  directory: string = settings.dataDirectory,
): Promise<void> {
  await writeFileDurably(
    `${directory}/pg_hba.conf`,
    renderPgHba(settings),
    { mode: 0o600, owner: await ownerFor(settings.runAsUser) },
  );
}

/**
 * Writes hactl.conf, pg_hba.conf (not fenced), pg_ident.conf and the password file, and makes
 * sure postgresql.conf includes hactl.conf. `directory` defaults to the data directory (a
 * fresh clone is configured before it is swapped in).
 */
export async function writeNodeConfiguration(
  settings: PostgresSettings,
  directory: string = settings.dataDirectory,
): Promise<void> {
  const owner = await ownerFor(settings.runAsUser);
  await writeFileDurably(`${directory}/hactl.conf`, renderHactlConf(settings), {
    mode: 0o600,
    owner,
  });
  await writePgHba(settings, directory);
  await writeFileDurably(`${directory}/pg_ident.conf`, renderPgIdent(settings), {
    mode: 0o600,
    owner,
  });
  await writePasswordFile(settings);
  const mainConf = await Deno.readTextFile(`${directory}/postgresql.conf`);
  if (!mainConf.split("\n").some((line) => line.trim() === HACTL_INCLUDE_LINE)) {
    await writeFileDurably(
      `${directory}/postgresql.conf`,
      `${mainConf.trimEnd()}\n\n# Added by hactl: its settings override the ones above.\n` +
        `${HACTL_INCLUDE_LINE}\n`,
      { mode: 0o600, owner },
    );
  }
}

/**
 * Writes the libpq password file (mode 0600) for the replication user, and with TLS the
 * certificate files the server and libpq read (see installTlsFiles): every path that connects
 * to another member (clone, rewind, following) or starts the server calls this first.
 */
export async function writePasswordFile(settings: PostgresSettings): Promise<void> {
  await installTlsFiles(settings);
  const escape = (value: string) => value.replaceAll("\\", "\\\\").replaceAll(":", "\\:");
  await writeFileDurably(
    passwordFileOf(settings),
    `*:*:*:${escape(settings.replicationUser)}:${escape(settings.replicationPassword)}\n`,
    { mode: 0o600, owner: await ownerFor(settings.runAsUser) },
  );
}

/** Writes an empty standby.signal durably: the server will start as a standby. */
export async function writeStandbySignal(
  settings: PostgresSettings,
  directory: string = settings.dataDirectory,
): Promise<void> {
  await writeFileDurably(`${directory}/standby.signal`, "", {
    mode: 0o600,
    owner: await ownerFor(settings.runAsUser),
  });
}

/** True when standby.signal exists in the data directory. */
export async function hasStandbySignal(dataDirectory: string): Promise<boolean> {
  return await pathExists(`${dataDirectory}/standby.signal`);
}

/**
 * Sets (string) or removes (null) keys of postgresql.auto.conf while the server is stopped,
 * the way ALTER SYSTEM would.
 */
export async function editAutoConf(
  settings: PostgresSettings,
  changes: Readonly<Record<string, string | null>>,
  directory: string = settings.dataDirectory,
): Promise<void> {
  const path = `${directory}/postgresql.auto.conf`;
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const keys = new Set(Object.keys(changes).map((key) => key.toLowerCase()));
  const kept = text.split("\n").filter((line) => {
    const match = /^\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*=?/.exec(line);
    return line.trim() !== "" && !(match !== null && keys.has(match[1]!.toLowerCase()));
  });
  for (const [key, value] of Object.entries(changes)) {
    if (value !== null) kept.push(`${key} = ${quoteConfigValue(value)}`);
  }
  await writeFileDurably(path, kept.join("\n") + "\n", {
    mode: 0o600,
    owner: await ownerFor(settings.runAsUser),
  });
}

/** The conninfo a standby of this node uses to stream from `source`. */
export function primaryConninfo(
  settings: PostgresSettings,
  source: { readonly host: string; readonly port: number },
): string {
  return [
    `host=${quoteConninfoValue(source.host)}`,
    `port=${source.port}`,
    `user=${quoteConninfoValue(settings.replicationUser)}`,
    `passfile=${quoteConninfoValue(passwordFileOf(settings))}`,
    `application_name=${quoteConninfoValue(settings.applicationName)}`,
    ...clientTlsConninfo(settings),
    "connect_timeout=5",
  ].join(" ");
}

/** The TLS options of a conninfo to another member (see {@link clientTlsOptions}). */
export function clientTlsConninfo(settings: PostgresSettings): string[] {
  return clientTlsOptions(settings).map(([key, value]) =>
    `${key}=${key === "sslmode" ? value : quoteConninfoValue(value)}`
  );
}
