/**
 * Issue 11, item 6, on real Postgres servers: the primary's guard (src/agent/primary_guard.ts)
 * terminates replication clients that are not hactl's — a member's name from another address,
 * a name outside the membership, the commit gate's name over TCP — while the real standby
 * keeps streaming and the gate over the local socket stays; role and database settings that
 * opt out of synchronous commit are reported; the server's own synchronous_commit is put back
 * to on.
 */

import { assert, assertEquals } from "./assert.ts";
import { cloneFrom } from "../../src/postgres/clone.ts";
import { setSynchronousStandbyNames } from "../../src/postgres/roles.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { readDurabilityOptOuts } from "../../src/postgres/durability_settings.ts";
import { foreignWalsenderReason } from "../../src/postgres/walsenders.ts";
import { PrimaryGuard } from "../../src/agent/primary_guard.ts";
import { Logger, type LogLevel } from "../../src/agent/logger.ts";
import { TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

/** Keeps the lines instead of printing them. */
class CapturingLogger extends Logger {
  readonly lines: string[] = [];
  override write(level: LogLevel, component: string, text: string): void {
    this.lines.push(`${level} ${component} ${text}`);
  }
}

/** A pg_receivewal that acknowledges every flush (a synchronous standby) and exits when cut. */
function startReceiver(
  cluster: TestCluster,
  settings: PostgresSettings,
  directory: string,
  conninfo: string,
): Deno.ChildProcess {
  Deno.mkdirSync(directory, { recursive: true });
  return new Deno.Command(`${cluster.binaries.directory}/pg_receivewal`, {
    args: ["--no-loop", "--synchronous", "-D", directory, "-d", conninfo],
    env: { PGPASSWORD: settings.replicationPassword },
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function walsenders(settings: PostgresSettings): Promise<string[]> {
  const rows = await withLocalSql(settings, (sql) =>
    sql<{ entry: string }[]>`
      SELECT application_name || '@' || coalesce(host(client_addr), 'socket') AS entry
      FROM pg_stat_activity WHERE backend_type = 'walsender' ORDER BY 1`);
  return rows.map((row) => row.entry);
}

Deno.test({
  name: "the primary terminates walsenders that are not hactl's and reports opt-outs of D1",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const base = cluster.settings("node-a", TEST_PORT_BASE + 90);
    // A client connecting to ::1 comes from ::1: an address other than the standby's.
    const primary: PostgresSettings = {
      ...base,
      listenAddress: "127.0.0.1,::1",
      allowedNetworks: ["127.0.0.1/32", "::1/128"],
    };
    const standby = cluster.settings("node-b", TEST_PORT_BASE + 91);
    const receivers: Deno.ChildProcess[] = [];
    try {
      await cluster.startPrimaryWithApp(primary);
      await withLocalSql(primary, (sql) => createReplicationSlot(sql, slotNameFor("node-b")));
      await cloneFrom(standby, cluster.binaries, { host: "127.0.0.1", port: primary.port }, {
        slotName: slotNameFor("node-b"),
        timeoutMs: 120_000,
      });
      await cluster.startReady(standby);
      await setSynchronousStandbyNames(primary, 'ANY 1 ("node-b")');

      const user = `user=${primary.replicationUser} port=${primary.port}`;
      const impostors = [
        `host=::1 ${user} application_name=node-b`, // a member's name, wrong address
        `host=127.0.0.1 ${user} application_name=intruder`, // not a member
        `host=127.0.0.1 ${user} application_name=hactl.gate`, // the gate's name over TCP
      ];
      impostors.forEach((conninfo, index) =>
        receivers.push(startReceiver(cluster, primary, `${cluster.root}/wal${index}`, conninfo))
      );
      // The commit gate's way in: the local socket, as the superuser (peer authentication).
      const gate = startReceiver(
        cluster,
        primary,
        `${cluster.root}/walgate`,
        `host=${primary.socketDirectory} port=${primary.port} user=${primary.superuser} ` +
          `application_name=hactl.gate`,
      );
      receivers.push(gate);
      const expectedBefore = [
        "hactl.gate@127.0.0.1",
        "hactl.gate@socket",
        "intruder@127.0.0.1",
        "node-b@127.0.0.1",
        "node-b@::1",
      ];
      let seen: string[] = [];
      await waitFor("every replication client connected", async () => {
        seen = await walsenders(primary);
        return JSON.stringify(seen) === JSON.stringify(expectedBefore);
      }).catch(async (error) => {
        const exited = await Promise.all(receivers.map(async (receiver) => {
          receiver.kill("SIGKILL");
          return new TextDecoder().decode((await receiver.output()).stderr);
        }));
        throw new Error(`${error}; walsenders: ${seen.join(", ")}; receivers: ${exited}`);
      });

      const log = new CapturingLogger("node-a", "debug");
      let counted = 0;
      const guard = new PrimaryGuard(
        primary,
        () => [{ id: "node-b", hosts: ["127.0.0.1"] }, { id: "node-c", hosts: ["127.0.0.3"] }],
        log,
        (count) => counted += count,
      );
      await guard.check();
      assertEquals(counted, 3, `terminations counted; log: ${log.lines.join("\n")}`);
      await waitFor(
        "only the member and the gate remain",
        async () =>
          JSON.stringify(await walsenders(primary)) ===
            JSON.stringify(["hactl.gate@socket", "node-b@127.0.0.1"]),
      );
      const warnings = log.lines.filter((line) => line.includes("terminated walsender"));
      assertEquals(warnings.length, 3, warnings.join("\n"));
      assert(warnings.some((line) => line.includes('"node-b" came from ::1')));
      assert(warnings.some((line) => line.includes('"intruder" (from 127.0.0.1) is not a member')));
      assert(
        warnings.some((line) => line.includes("commit gate's, which connects over the local")),
      );
      for (const receiver of receivers.slice(0, 3)) {
        const status = await receiver.status;
        assert(!status.success, "a terminated pg_receivewal --no-loop exits with an error");
      }

      // The real standby still acknowledges: a commit waiting for "node-b" completes.
      await withLocalSql(primary, (sql) => sql`INSERT INTO t VALUES (42)`, {
        statementTimeoutMs: 10_000,
      });
      await waitFor("the row on the standby", async () => {
        const rows = await withLocalSql(standby, (sql) => sql`SELECT count(*)::int AS n FROM t`);
        return rows[0]!.n === 1;
      });

      // A second round terminates nothing more and logs nothing more.
      await guard.check();
      assertEquals(counted, 3);

      await withLocalSql(primary, async (sql) => {
        await sql`ALTER ROLE app SET synchronous_commit = local`;
        await sql`ALTER DATABASE postgres SET default_transaction_read_only = off`;
        await sql`ALTER ROLE replicator SET synchronous_commit = remote_apply`;
        await sql`ALTER SYSTEM SET synchronous_commit = local`;
        await sql`SELECT pg_reload_conf()`;
      });
      await guard.check();
      assertEquals(guard.optOuts, [
        {
          role: null,
          database: "postgres",
          setting: "default_transaction_read_only",
          value: "off",
        },
        { role: "app", database: null, setting: "synchronous_commit", value: "local" },
      ]);
      assert(log.lines.some((line) => line.includes("synchronous_commit = local for role app")));
      assert(log.lines.some((line) => line.includes('synchronous_commit was "local"')));
      await waitFor("the server's synchronous_commit back on", async () => {
        const rows = await withLocalSql(
          primary,
          (sql) => sql<{ value: string }[]>`SELECT current_setting('synchronous_commit') AS value`,
        );
        return rows[0]!.value === "on";
      });

      await withLocalSql(primary, async (sql) => {
        await sql`ALTER ROLE app RESET synchronous_commit`;
        await sql`ALTER DATABASE postgres RESET default_transaction_read_only`;
      });
      assertEquals(await withLocalSql(primary, readDurabilityOptOuts), []);
    } finally {
      for (const receiver of receivers) {
        try {
          receiver.kill("SIGKILL");
        } catch { /* already exited */ }
        await receiver.stderr.cancel().catch(() => {});
        await receiver.status;
      }
      await cluster.cleanup();
    }
  },
});

// The rule itself, without a server: each case below changes the answer if its check is removed.
Deno.test("foreignWalsenderReason: names, addresses and the gate", () => {
  const policy = {
    members: new Map<string, readonly string[] | null>([
      ["n2", ["10.0.0.2"]],
      ["n3", null],
    ]),
    gateName: "hactl.gate",
  };
  const reason = (applicationName: string, clientAddress: string | null) =>
    foreignWalsenderReason({ pid: 1, applicationName, clientAddress }, policy);
  assertEquals(reason("n2", "10.0.0.2"), null);
  assertEquals(reason("n2", "::ffff:10.0.0.2"), null, "an IPv4-mapped address is the same host");
  assert(reason("n2", "10.0.0.9") !== null, "a member's name from another address");
  assert(reason("n2", null) !== null, "a member's name over the local socket");
  assertEquals(reason("n3", "10.0.0.9"), null, "an unresolved member is checked by name only");
  assert(reason("n4", "10.0.0.2") !== null, "a name outside the membership");
  assert(reason("hactl.fenced", null) !== null, "the fence's name is nobody's");
  assertEquals(reason("hactl.gate", null), null);
  assert(reason("hactl.gate", "127.0.0.1") !== null, "the gate's name over TCP");
});
