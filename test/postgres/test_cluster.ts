/**
 * Helpers for tests on real Postgres servers: temp directories owned by the postgres OS user,
 * node settings on ports 25400-25499, and cleanup of every started postmaster.
 *
 * @module
 */

import postgres from "postgres";
import { findPostgresBinaries, type PostgresBinaries } from "../../src/postgres/binaries.ts";
import { lookupUser } from "../../src/postgres/files.ts";
import { delay, Postmaster, stopByPidFile } from "../../src/postgres/postmaster.ts";
import { createReplicationRole, initCluster } from "../../src/postgres/cluster_setup.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { cloneFrom } from "../../src/postgres/clone.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { DEFAULT_POSTGRES_SETTINGS, type PostgresSettings } from "../../src/postgres/settings.ts";

/** First port used by these tests; each test file takes its own block of ten. */
export const TEST_PORT_BASE = 25400;
/** Longest wait for a started server to accept connections. */
const READY_TIMEOUT_MS = 60_000;
/** Password of the application role the tests create. */
export const APP_PASSWORD = "app-secret:1";

/** A temp directory for one test's nodes, and everything to clean up. */
export class TestCluster {
  readonly postmasters: Postmaster[] = [];
  private constructor(readonly root: string, readonly binaries: PostgresBinaries) {
    // An uncaught error ends the test module without running `finally`: clean up on unload.
    globalThis.addEventListener("unload", this.#cleanupSync);
  }

  #cleanupSync = (): void => {
    for (const postmaster of this.postmasters) {
      if (postmaster.alive) {
        try {
          Deno.kill(postmaster.pid, "SIGKILL");
        } catch { /* already gone */ }
      }
    }
    try {
      Deno.removeSync(this.root, { recursive: true });
    } catch { /* already removed */ }
  };

  /** Creates a temp directory owned by the postgres OS user. */
  static async create(): Promise<TestCluster> {
    const root = await Deno.makeTempDir({ prefix: "hactl_pg_" });
    const ids = await lookupUser("postgres");
    await Deno.chown(root, ids.uid, ids.gid);
    await Deno.chmod(root, 0o755);
    return new TestCluster(root, await findPostgresBinaries());
  }

  /** Settings of node `name` listening on `port` (loopback only). */
  settings(name: string, port: number): PostgresSettings {
    return {
      ...DEFAULT_POSTGRES_SETTINGS,
      binDirectory: this.binaries.directory,
      dataDirectory: `${this.root}/${name}/data`,
      port,
      listenAddress: "127.0.0.1",
      socketDirectory: this.root,
      applicationName: name,
      replicationPassword: "repl'pass\\word",
      allowedNetworks: ["127.0.0.1/32"],
      walKeepSizeMb: 64,
    };
  }

  /** Starts the server of `settings`, tracked for cleanup, and waits until it accepts connections. */
  async startReady(settings: PostgresSettings): Promise<Postmaster> {
    const postmaster = this.track(await Postmaster.start(settings, this.binaries));
    await postmaster.waitUntilReady(READY_TIMEOUT_MS);
    return postmaster;
  }

  /**
   * initdb and start a primary with hactl's replication role, an `app` role (password
   * {@link APP_PASSWORD}) and a table `t (id int)` it may read and insert into.
   */
  async startPrimaryWithApp(settings: PostgresSettings): Promise<Postmaster> {
    await initCluster(settings, this.binaries);
    const postmaster = await this.startReady(settings);
    await withLocalSql(settings, async (sql) => {
      await createReplicationRole(sql, settings);
      await sql.unsafe(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}'`);
      await sql`CREATE TABLE t (id int)`;
      await sql`GRANT SELECT, INSERT ON t TO app`;
    });
    return postmaster;
  }

  /** Remembers a postmaster so that {@link cleanup} stops it. */
  track(postmaster: Postmaster): Postmaster {
    this.postmasters.push(postmaster);
    return postmaster;
  }

  /** Stops every postmaster (immediate) and removes the temp directory. */
  async cleanup(): Promise<void> {
    for (const postmaster of this.postmasters) {
      if (postmaster.alive) await postmaster.stop({ immediate: true }).catch(() => {});
    }
    for await (const entry of Deno.readDir(this.root)) {
      if (entry.isDirectory) {
        await stopByPidFile(`${this.root}/${entry.name}/data`, {
          immediate: true,
          timeoutMs: 5_000,
        }).catch(() => {});
      }
    }
    await Deno.remove(this.root, { recursive: true });
    globalThis.removeEventListener("unload", this.#cleanupSync);
  }
}

/** The rows of the test table `t` on `settings`' server. */
export async function countRows(settings: PostgresSettings): Promise<number> {
  const rows = await withLocalSql(settings, (sql) => sql`SELECT count(*)::int AS n FROM t`);
  return rows[0]!.n as number;
}

/** Clones `to` from `from` by pg_basebackup, with a replication slot for `to` made on `from`. */
export async function cloneWithSlot(
  cluster: TestCluster,
  from: PostgresSettings,
  to: PostgresSettings,
  timeoutMs = 120_000,
): Promise<void> {
  await withLocalSql(from, (sql) => createReplicationSlot(sql, slotNameFor(to.applicationName)));
  await cloneFrom(to, cluster.binaries, { host: "127.0.0.1", port: from.port }, {
    slotName: slotNameFor(to.applicationName),
    timeoutMs,
  });
}

/** A password client of the application role over TCP. */
export function appClient(port: number, options: { readonly user?: string } = {}): postgres.Sql {
  return postgres({
    host: "127.0.0.1",
    port,
    user: options.user ?? "app",
    password: APP_PASSWORD,
    database: "postgres",
    max: 1,
    connect_timeout: 5,
    fetch_types: false,
    prepare: false,
    onnotice: () => {},
  });
}

/** Polls `check` until it returns true or throws after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await delay(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${lastError}`);
}
