/**
 * Pure helpers of the Postgres supervisor: LSN text <-> bytes, pg_controldata and pg_waldump
 * output, pg_basebackup progress, slot names, the pg_hba.conf hactl writes, SCRAM verifiers,
 * and finding the binaries.
 */

import fc from "fast-check";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { findPostgresBinaries } from "../../src/postgres/binaries.ts";
import { parseBaseBackupProgress } from "../../src/postgres/clone.ts";
import { renderPgHba } from "../../src/postgres/config_files.ts";
import { endOfWalFromMessage, parseControlData } from "../../src/postgres/control_data.ts";
import { formatLsn, parseLsn } from "../../src/postgres/lsn.ts";
import { scramSha256Verifier } from "../../src/postgres/scram.ts";
import { DEFAULT_POSTGRES_SETTINGS, type PostgresSettings } from "../../src/postgres/settings.ts";
import { slotNameFor } from "../../src/postgres/slots.ts";

Deno.test("LSN text and byte counts convert both ways", () => {
  assertEquals(parseLsn("16/B374D848"), 0x16 * 2 ** 32 + 0xB374D848);
  assertEquals(formatLsn(0x16 * 2 ** 32 + 0xB374D848), "16/B374D848");
  assertEquals(parseLsn("0/0"), 0);
  assertEquals(formatLsn(0), "0/0");
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (bytes) => {
    return parseLsn(formatLsn(bytes)) === bytes;
  }));
  for (const bad of ["", "16", "16/", "G/1", "1/2/3", "123456789/0", "FFFFFFFF/FFFFFFFF"]) {
    let threw = false;
    try {
      parseLsn(bad);
    } catch {
      threw = true;
    }
    assert(threw, `parseLsn accepted "${bad}"`);
  }
});

Deno.test("pg_controldata output is parsed into positions", () => {
  const control = parseControlData([
    "Database system identifier:           7311127448993579513",
    "Database cluster state:               shut down in recovery",
    "Latest checkpoint location:           0/17414F8",
    "Latest checkpoint's REDO location:    0/1741400",
    "Latest checkpoint's TimeLineID:       2",
    "Minimum recovery ending location:     0/3000000",
    "Min recovery ending loc's timeline:   3",
    "Bytes per WAL segment:                16777216",
  ].join("\n"));
  assertEquals(control.state, "shut down in recovery");
  assertEquals(control.checkpointLsn, 0x17414F8);
  assertEquals(control.redoLsn, 0x1741400);
  assertEquals([control.checkpointTimeline, control.minRecoveryTimeline], [2, 3]);
  assertEquals(control.minRecoveryLsn, 0x3000000);
  let threw = false;
  try {
    parseControlData("Database cluster state: in production");
  } catch {
    threw = true;
  }
  assert(threw, "missing fields must be an error, not zeros");
});

Deno.test("the end of WAL is the highest LSN in pg_waldump's final error", () => {
  assertEquals(
    endOfWalFromMessage(
      "pg_waldump: error: error in WAL record at 0/17414F8: invalid record length at " +
        "0/1741570: wanted 24, got 0",
    ),
    0x1741570,
  );
  assertEquals(endOfWalFromMessage("pg_waldump: error: could not open directory"), null);
});

Deno.test("pg_basebackup progress lines are parsed", () => {
  assertEquals(parseBaseBackupProgress("   1234/56789 kB (2%), 0/1 tablespace"), {
    doneBytes: 1234 * 1024,
    totalBytes: 56789 * 1024,
    percent: 2,
  });
  assertEquals(parseBaseBackupProgress("waiting for checkpoint"), null);
});

Deno.test("slot names are valid and distinct for distinct node ids", () => {
  const ids = ["node1", "Node1", "node-1", "node_1", "n_h1", "a".repeat(63)];
  const names = ids.map(slotNameFor);
  assertEquals(new Set(names).size, ids.length);
  for (const name of names) assert(/^[a-z0-9_]{1,63}$/.test(name), `invalid slot "${name}"`);
  fc.assert(fc.property(
    fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/),
    (a, b) => a === b || slotNameFor(a) !== slotNameFor(b),
  ));
});

const SETTINGS: PostgresSettings = {
  ...DEFAULT_POSTGRES_SETTINGS,
  binDirectory: "/usr/lib/postgresql/15/bin",
  dataDirectory: "/var/lib/hactl/data",
  port: 5432,
  socketDirectory: "/run/postgresql",
  applicationName: "node1",
  replicationPassword: "secret",
  allowedNetworks: ["10.0.0.0/8"],
};

Deno.test("pg_hba.conf never trusts, and admits clients (a fence makes them read-only)", () => {
  const text = renderPgHba(SETTINGS);
  assert(!/\btrust\b/.test(text.replace(/^#.*$/gm, "")), "trust must never appear");
  assert(text.includes("local all postgres peer map=hactl"), text);
  assert(text.includes("local replication postgres peer map=hactl"), text);
  assert(text.includes("host replication replicator 10.0.0.0/8 scram-sha-256"), text);
  // Refusing clients would end libpq's multi-host attempt at the fenced node (issue 9, #5).
  assert(text.includes("host all all 10.0.0.0/8 scram-sha-256"), text);
  assert(text.includes("local all all peer"), text);
  const split = renderPgHba({ ...SETTINGS, clientNetworks: ["192.168.0.0/16"] });
  assert(split.includes("host all all 192.168.0.0/16 scram-sha-256"), split);
  assert(!split.includes("host all all 10.0.0.0/8"), split);
  assert(split.includes("host replication replicator 10.0.0.0/8 scram-sha-256"), split);
});

Deno.test("SCRAM verifiers have Postgres' format and a fresh salt each time", async () => {
  // That the server accepts them is proven by replication_test: pg_basebackup logs in as the
  // replication role whose password was set from such a verifier.
  const salt = new Uint8Array(16).fill(1);
  const verifier = scramSha256Verifier("pencil", salt);
  assert(verifier.startsWith("SCRAM-SHA-256$4096:AQEBAQEBAQEBAQEBAQEBAQ==$"), verifier);
  assert(
    /^SCRAM-SHA-256\$4096:[A-Za-z0-9+\/=]+\$[A-Za-z0-9+\/]{43}=:[A-Za-z0-9+\/]{43}=$/.test(
      verifier,
    ),
  );
  assertEquals(verifier, scramSha256Verifier("pencil", salt));
  const error = await assertRejects(Promise.resolve().then(() => scramSha256Verifier("pässword")));
  assert(error.message.includes("ASCII"));
  assert(verifier !== scramSha256Verifier("pencil"), "a fresh salt must change the verifier");
});

Deno.test("binaries are found, and a wrong bin directory says where it looked", async () => {
  const found = await findPostgresBinaries({ searchPath: "" });
  assert(found.path("postgres").endsWith("/bin/postgres"), found.directory);
  const error = await assertRejects(findPostgresBinaries({ binDirectory: "/nonexistent/bin" }));
  assert(error.message.includes("/nonexistent/bin") && error.message.includes("binDirectory"));
  const empty = await Deno.makeTempDir();
  try {
    const none = await assertRejects(
      findPostgresBinaries({ searchPath: empty, debianRoot: empty }),
    );
    assert(none.message.includes(empty), none.message);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
