/**
 * Postgres with TLS on real servers. Proves: with `tls` set, certificates made by hactl's
 * `openssl` helper let a standby clone (pg_basebackup) and stream with sslmode=verify-full
 * (the primary's pg_stat_ssl shows ssl = true for the walsender); the rejoin check reads the
 * source over verified TLS; a client without SSL is refused by pg_hba (hostssl only) while
 * the same client with the CA is admitted; a standby that does not trust the server's CA
 * cannot clone; a replication connection needs a client certificate of the cluster CA
 * (`clientcert=verify-ca`) besides the password.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import postgres from "postgres";
import { createClusterCertificates } from "../../src/cli/tls_files.ts";
import { cloneFrom } from "../../src/postgres/clone.ts";
import { renderPgHba } from "../../src/postgres/config_files.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { readSourcePosition } from "../../src/postgres/source_position.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { APP_PASSWORD, TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

const CLONE_TIMEOUT_MS = 120_000;

function client(port: number, ssl: false | { ca: string }): postgres.Sql {
  return postgres({
    host: "127.0.0.1",
    port,
    user: "app",
    password: APP_PASSWORD,
    database: "postgres",
    max: 1,
    connect_timeout: 5,
    fetch_types: false,
    prepare: false,
    onnotice: () => {},
    ssl: ssl === false ? false : { ca: ssl.ca, rejectUnauthorized: true },
  });
}

async function sslOfWalsender(primary: PostgresSettings, standby: string): Promise<boolean[]> {
  const rows = await withLocalSql(
    primary,
    (sql) =>
      sql`SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)
        WHERE r.application_name = ${standby}`,
  );
  return rows.map((row) => row.ssl as boolean);
}

/**
 * For a replication connection the replication user's password over TLS is not enough:
 * without a client certificate of the cluster CA the login is refused; with a member's certificate it is admitted. psql
 * (libpq) logs in: the npm driver cannot send a client certificate under Deno, whose
 * node:tls ignores the certificate when it upgrades an open socket.
 */
async function replicationLoginNeedsClientCertificate(
  primary: PostgresSettings,
  binDirectory: string,
  member: { caFile: string; certFile: string; keyFile: string },
): Promise<void> {
  const login = async (certificate: boolean) => {
    const options = [
      `host=127.0.0.1 port=${primary.port} dbname=replication replication=true`,
      `user=${primary.replicationUser}`,
      `sslmode=verify-full sslrootcert=${member.caFile}`,
      certificate ? `sslcert=${member.certFile} sslkey=${member.keyFile}` : "sslcert=/nonexistent",
    ].join(" ");
    const result = await new Deno.Command(`${binDirectory}/psql`, {
      args: [options, "-Atc", "IDENTIFY_SYSTEM"],
      env: { PGPASSWORD: primary.replicationPassword, PGCONNECT_TIMEOUT: "5" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: result.success,
      text: decoder.decode(result.stdout) + decoder.decode(result.stderr),
    };
  };
  const bare = await login(false);
  assert(!bare.ok, "a replication login without a client certificate was admitted");
  assert(/certificate/i.test(bare.text), `unexpected refusal: ${bare.text}`);
  const certified = await login(true);
  assert(
    certified.ok && /^\d+\|1\|/.test(certified.text),
    `refused with a certificate: ${certified.text}`,
  );
}

Deno.test({
  name: "TLS: verify-full replication, hostssl-only clients, untrusted CA refused",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    try {
      const tlsDirectory = `${cluster.root}/tls`;
      const files = await createClusterCertificates(tlsDirectory, "tls-test", [
        { id: "node-a", hosts: ["127.0.0.1", "localhost"] },
        { id: "node-b", hosts: ["127.0.0.1", "localhost"] },
      ]);
      assertEquals((await Deno.stat(files.get("node-a")!.keyFile)).mode! & 0o777, 0o600);
      const nodeA = {
        ...cluster.settings("node-a", TEST_PORT_BASE + 60),
        tls: files.get("node-a")!,
      };
      const nodeB = {
        ...cluster.settings("node-b", TEST_PORT_BASE + 61),
        tls: files.get("node-b")!,
      };
      assert(renderPgHba(nodeA).includes("hostssl replication replicator 127.0.0.1/32"));
      assert(!/^host /m.test(renderPgHba(nodeA)), "a plain-text host line is left in pg_hba");

      await cluster.startPrimaryWithApp(nodeA);
      const ca = await Deno.readTextFile(files.get("node-a")!.caFile);
      const plain = client(nodeA.port, false);
      const refused = await assertRejects(plain`SELECT 1`, "a client without SSL was admitted");
      await plain.end({ timeout: 1 });
      assert(refused.message.includes("no encryption"), `unexpected refusal: ${refused.message}`);
      const secure = client(nodeA.port, { ca });
      try {
        const rows = await secure`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
        assertEquals(rows[0]!.ssl, true, "the client with the CA is admitted over TLS");
      } finally {
        await secure.end({ timeout: 1 });
      }

      // A standby whose CA file is another cluster's refuses the primary's certificate.
      const otherCa = await createClusterCertificates(`${cluster.root}/other`, "other", [
        { id: "node-b", hosts: ["127.0.0.1"] },
      ]);
      const untrusting = { ...nodeB, tls: { ...nodeB.tls, caFile: otherCa.get("node-b")!.caFile } };
      const source = { host: "127.0.0.1", port: nodeA.port };
      const untrusted = await assertRejects(
        cloneFrom(untrusting, cluster.binaries, source, { slotName: null, timeoutMs: 30_000 }),
        "a clone from an untrusted server succeeded",
      );
      assert(
        untrusted.message.includes("certificate verify failed"),
        `unexpected clone failure: ${untrusted.message}`,
      );

      await withLocalSql(nodeA, (sql) => createReplicationSlot(sql, slotNameFor("node-b")));
      await cloneFrom(nodeB, cluster.binaries, source, {
        slotName: slotNameFor("node-b"),
        timeoutMs: CLONE_TIMEOUT_MS,
      });
      await cluster.startReady(nodeB);
      await waitFor(
        "node-b streaming",
        async () => (await sslOfWalsender(nodeA, "node-b")).length > 0,
      );
      assertEquals(await sslOfWalsender(nodeA, "node-b"), [true]);
      const conninfo = await withLocalSql(
        nodeB,
        (sql) => sql`SELECT conninfo FROM pg_stat_wal_receiver`,
      );
      assert(String(conninfo[0]!.conninfo).includes("sslmode=verify-full"), "not verify-full");
      const position = await readSourcePosition(nodeB, source);
      assertEquals(position.timeline, 1, "the rejoin check reads the source over verified TLS");
      await replicationLoginNeedsClientCertificate(
        nodeA,
        cluster.binaries.directory,
        files.get("node-b")!,
      );
    } finally {
      await cluster.cleanup();
    }
  },
});
