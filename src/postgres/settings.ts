/**
 * Settings of the local Postgres that hactl supervises, and the paths derived from them.
 *
 * @module
 */

/** Everything the supervisor needs to know about the local Postgres. */
export interface PostgresSettings {
  /** Directory holding `postgres`, `initdb`, `pg_ctl`... (see {@link findPostgresBinaries}). */
  readonly binDirectory: string;
  /** The data directory (PGDATA). Its parent must exist; hactl keeps its own files beside it. */
  readonly dataDirectory: string;
  /** TCP port Postgres listens on (also names the unix socket). */
  readonly port: number;
  /** `listen_addresses`, e.g. "127.0.0.1" or "*". */
  readonly listenAddress: string;
  /** `unix_socket_directories`: where the agent connects over the unix socket. */
  readonly socketDirectory: string;
  /** OS user that runs Postgres when the agent runs as root; null: run as the agent's own user. */
  readonly runAsUser: string | null;
  /** The node id: application_name of this node's WAL receiver, used in synchronous_standby_names. */
  readonly applicationName: string;
  /** Role used by standbys to stream WAL and by pg_rewind (it gets the rewind grants). */
  readonly replicationUser: string;
  /** Password of {@link replicationUser}. */
  readonly replicationPassword: string;
  /** Superuser the agent connects as over the unix socket (peer authentication). */
  readonly superuser: string;
  /**
   * Networks (CIDR, or a member's host name) allowed to connect by TCP with scram-sha-256 for
   * replication (and as clients, unless {@link clientNetworks} is given), e.g. ["10.0.0.0/8"].
   */
  readonly allowedNetworks: readonly string[];
  /** Networks (CIDR or host name) admitted for ordinary clients; absent: allowedNetworks. */
  readonly clientNetworks?: readonly string[];
  /** `wal_keep_size` in megabytes: WAL kept for standbys without a slot and for pg_rewind. */
  readonly walKeepSizeMb: number;
  /**
   * TLS for every network connection (server `ssl = on`, `hostssl` in pg_hba, standbys and
   * tools with `sslmode=verify-full`); absent or null: plain text, as before.
   */
  readonly tls?: PostgresTlsFiles | null;
}

/**
 * The operator's (or `hactl init`'s) certificate files. hactl copies them into the state
 * directory (see {@link tlsDirectoryOf}), owned by the Postgres OS user, mode 0600, because
 * Postgres refuses a key that others can read and may not be able to enter /etc/hactl.
 */
export interface PostgresTlsFiles {
  /** The cluster CA (PEM): signs every member's certificate; standbys verify with it. */
  readonly caFile: string;
  /** This node's certificate (PEM); its subjectAltName names the host peers connect to. */
  readonly certFile: string;
  /** This node's private key (PEM). */
  readonly keyFile: string;
}

/** Default values for the optional parts of {@link PostgresSettings}. */
export const DEFAULT_POSTGRES_SETTINGS = {
  listenAddress: "*",
  runAsUser: "postgres",
  replicationUser: "replicator",
  superuser: "postgres",
  allowedNetworks: ["127.0.0.1/32", "::1/128"],
  walKeepSizeMb: 512,
} as const;

/**
 * The directory beside the data directory where hactl keeps the Postgres log, the
 * password file and its markers: `<dataDirectory>.hactl`. It is outside PGDATA so that
 * pg_basebackup and pg_rewind never copy it between nodes.
 */
export function stateDirectoryOf(settings: Pick<PostgresSettings, "dataDirectory">): string {
  return `${trimTrailingSlash(settings.dataDirectory)}.hactl`;
}

/** Path of the Postgres server log (stdout and stderr of the postmaster). */
export function logFileOf(settings: Pick<PostgresSettings, "dataDirectory">): string {
  return `${stateDirectoryOf(settings)}/postgres.log`;
}

/** Path of the libpq password file used for replication, pg_basebackup and pg_rewind. */
export function passwordFileOf(settings: Pick<PostgresSettings, "dataDirectory">): string {
  return `${stateDirectoryOf(settings)}/pgpass`;
}

/** Directory in the state directory holding Postgres' copies of the TLS files. */
export function tlsDirectoryOf(settings: Pick<PostgresSettings, "dataDirectory">): string {
  return `${stateDirectoryOf(settings)}/tls`;
}

/**
 * Checks the settings and throws an error naming the wrong value and what to set instead.
 */
export function validatePostgresSettings(settings: PostgresSettings): void {
  const problems: string[] = [];
  if (!Number.isInteger(settings.port) || settings.port < 1 || settings.port > 65535) {
    problems.push(`port must be an integer in 1..65535, got ${settings.port}`);
  }
  if (!settings.dataDirectory.startsWith("/")) {
    problems.push(`dataDirectory must be an absolute path, got "${settings.dataDirectory}"`);
  }
  if (!settings.socketDirectory.startsWith("/")) {
    problems.push(`socketDirectory must be an absolute path, got "${settings.socketDirectory}"`);
  }
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(settings.applicationName)) {
    problems.push(
      `applicationName must be 1-63 letters, digits, "_" or "-", got "${settings.applicationName}"`,
    );
  }
  for (
    const [name, value] of [["replicationUser", settings.replicationUser], [
      "superuser",
      settings.superuser,
    ]] as const
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
      problems.push(`${name} must be a lower-case SQL identifier, got "${value}"`);
    }
  }
  if (settings.replicationPassword.length === 0) {
    problems.push("replicationPassword must not be empty");
  }
  if (!Number.isInteger(settings.walKeepSizeMb) || settings.walKeepSizeMb < 0) {
    problems.push(`walKeepSizeMb must be a non-negative integer, got ${settings.walKeepSizeMb}`);
  }
  for (const network of [...settings.allowedNetworks, ...settings.clientNetworks ?? []]) {
    if (!/^[0-9a-fA-F:.]+\/[0-9]{1,3}$/.test(network) && !/^[A-Za-z0-9.-]{1,253}$/.test(network)) {
      problems.push(
        `network entries must be CIDR like 10.0.0.0/8 or a host name, got "${network}"`,
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(`invalid Postgres settings: ${problems.join("; ")}`);
  }
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
