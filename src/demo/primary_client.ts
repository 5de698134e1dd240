/**
 * A client that always talks to the writable primary of a list of hosts, the way libpq's
 * `target_session_attrs=read-write` does: it tries each host in turn and keeps the first
 * that is not in recovery and not read-only. After any error it drops its connection, so
 * the next call looks for the primary afresh. (The npm driver's own read-write check looks
 * at default_transaction_read_only only and so accepts a hot standby.)
 *
 * @module
 */
import postgres from "postgres";

/** The driver's connection type. */
export type Sql = postgres.Sql;

/** Where and how to connect. */
export interface PrimaryClientOptions {
  readonly hosts: readonly { readonly hostname: string; readonly port: number }[];
  readonly user: string;
  readonly password: string;
  readonly database?: string;
  readonly connectTimeoutSeconds?: number;
  /** The cluster CA (PEM file): connect with TLS and verify the server (verify-full). */
  readonly caFile?: string | null;
}

/** A reconnecting client for the current primary. */
export class PrimaryClient {
  #sql: Sql | null = null;

  /** Creates the client; nothing connects until the first call. */
  #ca: string | null = null;
  constructor(private readonly options: PrimaryClientOptions) {}

  /** Runs `body` on a connection to the primary; on error the connection is dropped. */
  async run<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = this.#sql ?? await this.#connect();
    this.#sql = sql;
    try {
      return await body(sql);
    } catch (error) {
      this.#sql = null;
      sql.end({ timeout: 0 }).catch(() => {});
      throw error;
    }
  }

  async #connect(): Promise<Sql> {
    const problems: string[] = [];
    if (this.#ca === null && this.options.caFile) {
      this.#ca = await Deno.readTextFile(this.options.caFile);
    }
    for (const host of this.options.hosts) {
      const sql = postgres({
        host: host.hostname,
        port: host.port,
        user: this.options.user,
        password: this.options.password,
        database: this.options.database ?? "postgres",
        max: 1,
        connect_timeout: this.options.connectTimeoutSeconds ?? 2,
        idle_timeout: 30,
        onnotice: () => {},
        ...(this.#ca === null ? {} : { ssl: { ca: this.#ca, rejectUnauthorized: true } }),
      });
      try {
        const rows = await sql<{ recovery: boolean; read_only: string }[]>`
          SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS read_only`;
        if (rows[0]?.recovery === false && rows[0]?.read_only === "off") return sql;
        problems.push(`${host.hostname}:${host.port} is read-only`);
      } catch (error) {
        problems.push(
          `${host.hostname}:${host.port}: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
      await sql.end({ timeout: 0 }).catch(() => {});
    }
    throw new Error(`no writable primary among ${problems.join("; ")}`);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    const sql = this.#sql;
    this.#sql = null;
    await sql?.end({ timeout: 5 }).catch(() => {});
  }
}
