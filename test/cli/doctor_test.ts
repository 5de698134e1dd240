/**
 * `hactl doctor` against real files, real sockets and real Postgres binaries: a good node
 * passes with only warnings (a peer not up yet), a taken port, an open secret file or key, a
 * certificate for another host, Debian's cluster on the data directory or the port, an old
 * Postgres and a skewed peer clock are each reported on their own row with the fix, and the
 * exit code and --json shape are what scripts rely on.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { doctorCommand } from "../../src/cli/doctor/doctor_command.ts";
import type { CheckResult } from "../../src/cli/doctor/check_result.ts";
import type { DoctorReport } from "../../src/cli/doctor/doctor_report.ts";
import { useApiTls } from "../../src/cli/api_transport.ts";
import { startApiServer } from "../../src/api/server.ts";
import { FakeAgent } from "../api/fake_agent.ts";
import { TEST_TOKENS } from "../api/test_tokens.ts";
import { hactl } from "../cluster/hactl_process.ts";
import { CapturedOutput, createDoctorFixture, type DoctorFixture } from "./doctor_fixture.ts";

/** Runs doctor --json on the fixture; the exit code and the parsed report. */
async function doctorJson(
  fixture: DoctorFixture,
): Promise<{ code: number; report: DoctorReport; row: (check: string) => CheckResult }> {
  const output = new CapturedOutput();
  const code = await doctorCommand(
    ["--config", fixture.configPath, "--json"],
    output,
    fixture.environment,
  );
  await useApiTls(null);
  const report = JSON.parse(output.text) as DoctorReport;
  const row = (check: string) => {
    const found = report.checks.find((candidate) => candidate.check === check);
    assert(found, `no row "${check}" in ${output.text}`);
    return found;
  };
  return { code, report, row };
}

/** Serves node2: its API over HTTPS with its certificate, and a listener on its Raft port. */
async function startNode2(fixture: DoctorFixture): Promise<() => Promise<void>> {
  const files = fixture.tls.get("node2")!;
  const api = startApiServer(new FakeAgent("node2"), {
    hostname: "127.0.0.1",
    port: fixture.ports.node2Api,
    tokens: TEST_TOKENS,
    tls: {
      cert: await Deno.readTextFile(files.certFile),
      key: await Deno.readTextFile(files.keyFile),
    },
  });
  const raft = Deno.listen({ hostname: "127.0.0.1", port: fixture.ports.node2Raft });
  return async () => {
    raft.close();
    await api.close();
  };
}

Deno.test("doctor: a good node has no FAIL, exit 0; a peer not up is a warning; the reachable peer's clock is measured", async () => {
  const fixture = await createDoctorFixture();
  const stopNode2 = await startNode2(fixture);
  try {
    const { code, report, row } = await doctorJson(fixture);
    assertEquals(code, 0, JSON.stringify(report, null, 2));
    assertEquals(report.ok, true);
    assertEquals(report.failures, 0);
    for (
      const check of [
        "config",
        "postgres binaries",
        "data directory",
        "disk space",
        "other postgres",
        "cluster secret",
        "tls CA",
        "tls certificate",
        "tls key",
        "port raft.listen",
        "port api.listen",
        "port postgres.port",
        "port gateway.listen",
        "peer node2",
        "clock node2",
        "client networks",
      ]
    ) assertEquals(row(check).status, "ok", `${check}: ${row(check).detail}`);
    assert(
      /\(PostgreSQL\) (1[5-9]|[2-9]\d)\./.test(row("postgres binaries").detail),
      row("postgres binaries").detail,
    );
    assertEquals(row("peer node3").status, "warn");
    assert(row("peer node3").detail.includes("connection refused"), row("peer node3").detail);
    assert(
      row("clock node2").detail.includes("tolerated: the lease, 550 ms"),
      row("clock node2").detail,
    );
    const spread = /± ([\d.]+) s/.exec(row("clock node2").detail);
    assert(
      spread && Number(spread[1]) <= 0.05,
      `hactl's own header bounds the offset within a round trip: ${row("clock node2").detail}`,
    );
    assertEquals(report.warnings, 1, "only node3, which is down, is a warning");
    for (const check of report.checks) {
      assertEquals(Object.keys(check).sort(), ["check", "detail", "status"]);
      assert(["ok", "warn", "FAIL"].includes(check.status));
    }
    assertEquals(Object.keys(report).sort(), ["checks", "failures", "ok", "warnings"]);
  } finally {
    await stopNode2();
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

Deno.test("doctor: a port held by another listener FAILs naming the port; the table says what to fix; exit 1", async () => {
  const fixture = await createDoctorFixture();
  const holder = Deno.listen({ hostname: "127.0.0.1", port: fixture.ports.raft });
  const gatewayHolder = Deno.listen({ hostname: "127.0.0.1", port: fixture.ports.gateway });
  try {
    const { code, report, row } = await doctorJson(fixture);
    assertEquals(code, 1);
    assertEquals(report.ok, false);
    assertEquals(row("port raft.listen").status, "FAIL");
    assert(
      row("port raft.listen").detail.includes(`port ${fixture.ports.raft}`),
      row("port raft.listen").detail,
    );
    assert(row("port raft.listen").detail.includes("in use by another process"));
    assertEquals(row("port gateway.listen").status, "FAIL");
    assertEquals(row("port api.listen").status, "ok", "the free ports stay ok");
    const output = new CapturedOutput();
    assertEquals(
      await doctorCommand(["--config", fixture.configPath], output, fixture.environment),
      1,
    );
    await useApiTls(null);
    assert(/^port raft\.listen\s+FAIL\s+port \d+/m.test(output.text), output.text);
    assert(output.text.includes("2 failure(s)"), output.text);
  } finally {
    holder.close();
    gatewayHolder.close();
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

Deno.test("doctor: a secret file or key readable by others, a certificate for another host FAIL with the fix", async () => {
  const fixture = await createDoctorFixture({ "postgres.advertise_host": '"db1.example.net"' });
  try {
    await Deno.chmod(fixture.secretFile, 0o644);
    await Deno.chmod(fixture.tls.get("node1")!.keyFile, 0o644);
    const { code, row } = await doctorJson(fixture);
    assertEquals(code, 1);
    assertEquals(row("cluster secret").status, "FAIL");
    assert(row("cluster secret").detail.includes("mode 0644"), row("cluster secret").detail);
    assert(row("cluster secret").detail.includes(`chmod 600 ${fixture.secretFile}`));
    assertEquals(row("tls key").status, "FAIL");
    assert(row("tls key").detail.includes("chmod 600"), row("tls key").detail);
    assertEquals(row("tls certificate").status, "FAIL");
    assert(
      row("tls certificate").detail.includes("does not name db1.example.net"),
      row("tls certificate").detail,
    );

    await Deno.chmod(fixture.secretFile, 0o600);
    await Deno.writeTextFile(fixture.secretFile, "");
    assertEquals(
      (await doctorJson(fixture)).row("cluster secret").status,
      "FAIL",
      "an empty secret",
    );
    await Deno.remove(fixture.secretFile);
    const missing = (await doctorJson(fixture)).row("cluster secret");
    assertEquals(missing.status, "FAIL");
    assert(missing.detail.includes("install -o"), missing.detail);
  } finally {
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

Deno.test("doctor: Debian's cluster on the data directory or the port, and any Postgres on the port, FAIL with pg_dropcluster", async () => {
  const fixture = await createDoctorFixture();
  const clusterDirectory = `${fixture.environment.debianConfigRoot}/15/main`;
  await Deno.mkdir(clusterDirectory, { recursive: true });
  const pidFile = `${fixture.directory}/15-main.pid`;
  await Deno.writeTextFile(pidFile, `${Deno.pid}\n`);
  await Deno.writeTextFile(
    `${clusterDirectory}/postgresql.conf`,
    `data_directory = '${fixture.dataDir}'\t\t# use data in another directory\n` +
      `external_pid_file = '${pidFile}'\nport = ${fixture.ports.postgres}\t\t\t\t# (change requires restart)\n`,
  );
  await Deno.writeTextFile(`${clusterDirectory}/start.conf`, "# comment\nauto\n");
  let fakePostgres = await answerSslRequests(fixture.ports.postgres);
  try {
    const { code, row } = await doctorJson(fixture);
    assertEquals(code, 1);
    assertEquals(row("data directory").status, "FAIL");
    assert(
      row("data directory").detail.includes("pg_dropcluster 15 main --stop"),
      row("data directory").detail,
    );
    assertEquals(row("other postgres").status, "FAIL");
    assert(row("other postgres").detail.includes("runs on port"), row("other postgres").detail);
    assertEquals(row("port postgres.port").status, "FAIL");
    assert(
      row("port postgres.port").detail.includes("another Postgres listens"),
      row("port postgres.port").detail,
    );
    assert(row("port postgres.port").detail.includes("pg_dropcluster 15 main --stop"));

    // Running, but the port is free (it listens elsewhere, or in another network namespace).
    await fakePostgres();
    const elsewhere = await doctorJson(fixture);
    assertEquals(elsewhere.row("other postgres").status, "warn");
    assert(elsewhere.row("other postgres").detail.includes("port is still free"));
    assertEquals(elsewhere.row("port postgres.port").status, "ok");
    fakePostgres = await answerSslRequests(fixture.ports.postgres);

    // Down but starting at boot: a warning; a non-Debian Postgres on the port is still named.
    await Deno.writeTextFile(pidFile, "999999999\n");
    await Deno.writeTextFile(
      `${clusterDirectory}/postgresql.conf`,
      `data_directory = '/var/lib/postgresql/15/main'\nexternal_pid_file = '${pidFile}'\nport = ${fixture.ports.postgres}\n`,
    );
    const second = await doctorJson(fixture);
    assertEquals(second.row("data directory").status, "ok", second.row("data directory").detail);
    assertEquals(second.row("other postgres").status, "warn");
    assert(second.row("other postgres").detail.includes("starts at boot"));
    assert(second.row("port postgres.port").detail.includes("another Postgres listens"));
  } finally {
    await fakePostgres();
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

/** A listener on `port` that answers Postgres' SSLRequest with "N", as a server without SSL. */
async function answerSslRequests(port: number): Promise<() => Promise<void>> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const serving = (async () => {
    for await (const connection of listener) {
      const request = new Uint8Array(8);
      await connection.read(request).catch(() => null);
      await connection.write(new TextEncoder().encode("N")).catch(() => 0);
      connection.close();
    }
  })();
  await Promise.resolve();
  return async () => {
    listener.close();
    await serving.catch(() => {});
  };
}

Deno.test("doctor: ports held by this node's own running hactl are a warning saying so", async () => {
  const fixture = await createDoctorFixture();
  const files = fixture.tls.get("node1")!;
  const api = startApiServer(new FakeAgent("node1"), {
    hostname: "127.0.0.1",
    port: fixture.ports.api,
    tokens: TEST_TOKENS,
    tls: {
      cert: await Deno.readTextFile(files.certFile),
      key: await Deno.readTextFile(files.keyFile),
    },
  });
  try {
    const { code, row } = await doctorJson(fixture);
    assertEquals(code, 0);
    assertEquals(row("port api.listen").status, "warn");
    assert(
      row("port api.listen").detail.includes("running hactl of node1"),
      row("port api.listen").detail,
    );
  } finally {
    await api.close();
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

Deno.test("doctor: a peer whose clock is 5 s ahead is a warning naming the offset and the lease", async () => {
  const fixture = await createDoctorFixture({ "tls.enabled": "false" });
  const skewMs = 5_000;
  const api = Deno.serve(
    { hostname: "127.0.0.1", port: fixture.ports.node2Api, onListen: () => {} },
    () => new Response("ok", { headers: { date: new Date(Date.now() + skewMs).toUTCString() } }),
  );
  const raft = Deno.listen({ hostname: "127.0.0.1", port: fixture.ports.node2Raft });
  try {
    const { code, row, report } = await doctorJson(fixture);
    const failing = report.checks.filter((check) => check.status === "FAIL");
    assertEquals(code, 0, `a clock offset warns, it does not fail: ${JSON.stringify(failing)}`);
    assertEquals(row("tls").status, "warn");
    const clock = row("clock node2");
    assertEquals(clock.status, "warn", clock.detail);
    const offset = /node2 is \+([\d.]+) s ± ([\d.]+) s/.exec(clock.detail);
    assert(offset, clock.detail);
    assert(Math.abs(Number(offset[1]) - 5) <= Number(offset[2]) + 0.05, clock.detail);
    assert(Number(offset[2]) <= 0.65, `five Date headers bound it within 0.65 s: ${clock.detail}`);
    assert(clock.detail.includes("more than the lease (550 ms)"), clock.detail);
  } finally {
    raft.close();
    await api.shutdown();
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

Deno.test("doctor: Postgres older than 15 FAILs naming the version found", async () => {
  const fixture = await createDoctorFixture();
  const binDir = `${fixture.directory}/bin`;
  await Deno.mkdir(binDir);
  for (
    const binary of [
      "postgres",
      "initdb",
      "pg_controldata",
      "pg_basebackup",
      "pg_rewind",
      "pg_isready",
      "pg_waldump",
    ]
  ) {
    await Deno.writeTextFile(
      `${binDir}/${binary}`,
      '#!/bin/sh\necho "postgres (PostgreSQL) 14.9"\n',
    );
    await Deno.chmod(`${binDir}/${binary}`, 0o755);
  }
  await Deno.writeTextFile(
    fixture.configPath,
    (await Deno.readTextFile(fixture.configPath)).replace(
      "[postgres]\n",
      `[postgres]\nbin_dir = "${binDir}"\n`,
    ),
  );
  try {
    const { code, row } = await doctorJson(fixture);
    assertEquals(code, 1);
    assertEquals(row("postgres binaries").status, "FAIL");
    assert(row("postgres binaries").detail.includes("14.9"), row("postgres binaries").detail);
    assert(row("postgres binaries").detail.includes("needs PostgreSQL 15 or later"));
    await Deno.remove(`${binDir}/pg_rewind`);
    const missing = (await doctorJson(fixture)).row("postgres binaries");
    assertEquals(missing.status, "FAIL");
    assert(missing.detail.includes("pg_rewind"), missing.detail);
  } finally {
    await Deno.remove(fixture.directory, { recursive: true });
  }
});

Deno.test("hactl doctor as a process: a config with mistakes is one FAIL row, exit 1; no --config, exit 2; listed in help", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-doctor-" });
  try {
    const path = `${directory}/hactl.toml`;
    await Deno.writeTextFile(path, '[node]\nid = "node1"\n[postgres]\nport = 99999\n');
    const bad = await hactl(["doctor", "--config", path]);
    assertEquals(bad.code, 1, bad.output);
    assert(/^config\s+FAIL\s+.*postgres\.port = 99999/m.test(bad.output), bad.output);
    const usage = await hactl(["doctor"]);
    assertEquals(usage.code, 2, usage.output);
    assert(usage.output.includes("usage: hactl doctor"), usage.output);
    const help = await hactl(["help"]);
    assert(/^\s+doctor\s+check this host/m.test(help.output), help.output);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("doctor: another member's certificate (CN node2) on node1 FAILs: the Raft port identifies members by CN", async () => {
  const fixture = await createDoctorFixture();
  try {
    const text = await Deno.readTextFile(fixture.configPath);
    await Deno.writeTextFile(
      fixture.configPath,
      text.replace("/tls/node1.crt", "/tls/node2.crt").replace("/tls/node1.key", "/tls/node2.key"),
    );
    const { code, row } = await doctorJson(fixture);
    assertEquals(code, 1);
    assertEquals(row("tls certificate").status, "FAIL");
    assert(
      row("tls certificate").detail.includes("subject CN node2"),
      row("tls certificate").detail,
    );
    assertEquals(row("tls key").status, "ok", "the key matches its own certificate");
  } finally {
    await Deno.remove(fixture.directory, { recursive: true });
  }
});
