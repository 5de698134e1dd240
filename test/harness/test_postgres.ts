/**
 * A throwaway PostgreSQL 15 server for harness tests: initdb (or pg_basebackup from another
 * one) into a temp dir owned by the `postgres` OS user, started with pg_ctl as that user on a
 * free loopback port in 25500-25599, with its Unix socket in its own directory.
 *
 * @module
 */

import type { PostgresTarget } from "./postgres_client.ts";
import { runCommand } from "./system_commands.ts";

/** Directory of the PostgreSQL 15 binaries (Debian layout). */
export const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";
/** Loopback ports the harness tests may use. */
export const FIRST_TEST_PORT = 25500;
export const LAST_TEST_PORT = 25599;

/** Options of {@link createTestPostgres}. */
export interface TestPostgresOptions {
  /** Node name used in records. */
  readonly name: string;
  /** Clone this running server with pg_basebackup -R (a streaming standby) instead of initdb. */
  readonly standbyOf?: TestPostgres;
}

/** A server made by {@link createTestPostgres}. */
export interface TestPostgres {
  readonly name: string;
  readonly port: number;
  /** Temp dir holding `data/`, `socket/` and `server.log`; removed by destroy. */
  readonly directory: string;
  /** Target for the prober and the writer (TCP on 127.0.0.1). */
  readonly target: PostgresTarget;
  /** pg_ctl start -w. */
  start(): Promise<void>;
  /** pg_ctl stop -w in the given mode. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** pg_ctl promote -w (a standby becomes a primary on a new timeline). */
  promote(): Promise<void>;
  /** Stops the server if running and removes its directory. */
  destroy(): Promise<void>;
}

/** Creates (but does not start) a server; see the module documentation. */
export async function createTestPostgres(options: TestPostgresOptions): Promise<TestPostgres> {
  const directory = await Deno.makeTempDir({ prefix: `hactl_pg_${options.name}_` });
  const { uid, gid } = await postgresIds();
  await Deno.chown(directory, uid, gid);
  const data = `${directory}/data`;
  const socket = `${directory}/socket`;
  const port = await findFreePort();
  await asPostgres(["mkdir", "-p", socket]);
  if (options.standbyOf === undefined) {
    await asPostgres([`${POSTGRES_BIN}/initdb`, "-D", data, "--auth=trust", "-U", "postgres"]);
  } else {
    const source = options.standbyOf;
    await asPostgres([
      `${POSTGRES_BIN}/pg_basebackup`,
      "-h",
      "127.0.0.1",
      "-p",
      String(source.port),
      "-U",
      "postgres",
      "-D",
      data,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
    ]); // deno-fmt-ignore
  }
  const serverOptions = `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1`;
  const pgCtl = (args: string[]) => asPostgres([`${POSTGRES_BIN}/pg_ctl`, "-D", data, ...args]);
  return {
    name: options.name,
    port,
    directory,
    target: {
      name: options.name,
      connection: { host: "127.0.0.1", port, user: "postgres", database: "postgres" },
    },
    start: async () => {
      await pgCtl([
        "start",
        "-w",
        "-t",
        "60",
        "-l",
        `${directory}/server.log`,
        "-o",
        serverOptions,
      ]);
    },
    stop: async (mode = "fast") => {
      await pgCtl(["stop", "-w", "-t", "60", "-m", mode]);
    },
    promote: async () => {
      await pgCtl(["promote", "-w", "-t", "60"]);
    },
    destroy: async () => {
      await runCommand(
        [
          "setpriv",
          "--reuid=postgres",
          "--regid=postgres",
          "--init-groups",
          `${POSTGRES_BIN}/pg_ctl`,
          "-D",
          data,
          "stop",
          "-m",
          "immediate",
          "-w",
        ],
        { allowFailure: true },
      ); // deno-fmt-ignore
      await Deno.remove(directory, { recursive: true });
    },
  };
}

/** Returns a loopback port in the test range that nothing listens on right now. */
export async function findFreePort(): Promise<number> {
  const span = LAST_TEST_PORT - FIRST_TEST_PORT + 1;
  // Start at a random place so that parallel test files rarely race for the same port.
  const offset = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = FIRST_TEST_PORT + (offset + i) % span;
    try {
      const listener = Deno.listen({ hostname: "127.0.0.1", port });
      listener.close();
      return port;
    } catch {
      // In use; try the next one.
    }
  }
  await Promise.resolve();
  throw new Error(`findFreePort: every port in ${FIRST_TEST_PORT}-${LAST_TEST_PORT} is in use`);
}

async function asPostgres(argv: readonly string[]): Promise<void> {
  await runCommand(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", ...argv]);
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await runCommand(["id", "-u", "postgres"])).stdout.trim());
  const gid = Number((await runCommand(["id", "-g", "postgres"])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error("test postgres: the OS user 'postgres' is missing; install postgresql-15");
  }
  return { uid, gid };
}
