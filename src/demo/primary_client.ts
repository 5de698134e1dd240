/**
 * A client that always talks to the writable primary through a libpq-style multi-host URL
 * (`target_session_attrs=read-write`). After any error it drops its connection, so the next
 * call connects afresh and finds the new primary (a kept connection to a demoted or
 * standby server would otherwise stay read-only).
 *
 * @module
 */
import postgres from "postgres";

/** The driver's connection type. */
export type Sql = postgres.Sql;

/** A reconnecting client for the current primary. */
export class PrimaryClient {
  #sql: Sql | null = null;

  /** Creates the client; nothing connects until the first call. */
  constructor(private readonly url: string, private readonly connectTimeoutSeconds = 2) {}

  /** Runs `body` on a connection to the primary; on error the connection is dropped. */
  async run<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    this.#sql ??= postgres(this.url, {
      max: 1,
      connect_timeout: this.connectTimeoutSeconds,
      idle_timeout: 30,
      onnotice: () => {},
    });
    const sql = this.#sql;
    try {
      return await body(sql);
    } catch (error) {
      this.#sql = null;
      sql.end({ timeout: 0 }).catch(() => {});
      throw error;
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    const sql = this.#sql;
    this.#sql = null;
    await sql?.end({ timeout: 5 }).catch(() => {});
  }
}
