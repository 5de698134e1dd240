// Proves the harness works the way the fault scenarios will use it: a Postgres started as the
// postgres user inside a host namespace serves other hosts over the private bridge, a partition
// cuts that path, the test process (in the root namespace) still probes it through its Unix
// socket, and a frozen host makes probe attempts time out until it is thawed.

import { assert, assertEquals } from "./test_assertions.ts";
import { TestNetwork } from "./netns.ts";
import type { ProbeRecord } from "./checkers.ts";
import { POSTGRES_BIN } from "./test_postgres.ts";
import { runCommand } from "./system_commands.ts";
import { WriteProber } from "./write_prober.ts";

const PORT = 5432; // every host has its own network stack, so the default port is free there
const DEADLINE_MS = 30_000;

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>) {
  const deadline = performance.now() + DEADLINE_MS;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function psqlFrom(network: TestNetwork, from: number, address: string): Promise<boolean> {
  const output = await network.run(
    from,
    ["psql", "-h", address, "-p", String(PORT), "-U", "postgres", "-Atc", "SELECT 1"],
    { allowFailure: true, timeoutMs: 3_000, env: { PGCONNECT_TIMEOUT: "2" } },
  );
  return output.success && output.stdout.trim() === "1";
}

function countSince(records: readonly ProbeRecord[], sinceMs: number, outcome: string): number {
  return records.filter((r) => r.startMs >= sinceMs && r.outcome === outcome).length;
}

async function initDataDirectory(directory: string): Promise<string> {
  const postgresUid = Number((await runCommand(["id", "-u", "postgres"])).stdout.trim());
  const postgresGid = Number((await runCommand(["id", "-g", "postgres"])).stdout.trim());
  await Deno.chown(directory, postgresUid, postgresGid);
  const data = `${directory}/data`;
  await runCommand([
    "setpriv",
    "--reuid=postgres",
    "--regid=postgres",
    "--init-groups",
    `${POSTGRES_BIN}/initdb`,
    "-D",
    data,
    "--auth=trust",
    "-U",
    "postgres",
  ]); // deno-fmt-ignore
  // initdb trusts only loopback; the hosts talk over the private 10.231.0.0/16 bridge.
  const rule = "host all all 10.231.0.0/16 trust\n";
  await Deno.writeTextFile(`${data}/pg_hba.conf`, rule, { append: true });
  return data;
}

Deno.test("Postgres in a namespace: bridge access, partition, Unix-socket probes, freeze", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl_netns_pg_" });
  const network = await TestNetwork.create({ hosts: 2 });
  try {
    const data = await initDataDirectory(directory);
    const server = network.host(1);
    network.spawn(1, [
      `${POSTGRES_BIN}/postgres`,
      "-D",
      data,
      "-p",
      String(PORT),
      "-k",
      directory,
      "-c",
      `listen_addresses=${server.address}`,
    ], { user: "postgres", logPath: `${directory}/server.log` }); // deno-fmt-ignore
    await waitUntil("the server answers on the bridge", () => psqlFrom(network, 0, server.address));

    // The socket file lives in the shared filesystem, so the test process can reach it.
    const target = {
      name: "n1",
      connection: { host: directory, port: PORT, user: "postgres", database: "postgres" },
    };
    const prober = new WriteProber([target], { intervalMs: 20, attemptTimeoutMs: 500 });
    await prober.start();
    try {
      await network.partition([0], [1]);
      assertEquals(await psqlFrom(network, 0, server.address), false, "partition cuts host 0");
      const partitionedAtMs = performance.now();
      await waitUntil(
        "probes succeed during the partition",
        () => countSince(prober.records, partitionedAtMs, "ok") >= 3,
      );

      await network.freezeHost(1);
      const frozenAtMs = performance.now();
      await waitUntil(
        "probes time out while frozen",
        () => countSince(prober.records, frozenAtMs, "timeout") >= 2,
      );
      assertEquals(countSince(prober.records, frozenAtMs + 50, "ok"), 0, "frozen: no write");

      await network.thawHost(1);
      await network.heal();
      const thawedAtMs = performance.now();
      await waitUntil(
        "probes succeed after thaw",
        () => countSince(prober.records, thawedAtMs, "ok") >= 3,
      );
      assert(await psqlFrom(network, 0, server.address), "heal restores the bridge path");
    } finally {
      await prober.stop();
    }
  } finally {
    await network.destroy();
    await Deno.remove(directory, { recursive: true });
  }
});
