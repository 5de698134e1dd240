// Proves the multi-host test network injects real faults: hosts reach each other over TCP,
// partitions (two-way and one-way) drop exactly the packets they should, heal restores, freeze
// and kill act on real processes, and destroy / cleanupStale leave no namespace behind.

import { assert, assertEquals, assertStringIncludes } from "./test_assertions.ts";
import { cleanupStale, listNamespaces, TestNetwork } from "./netns.ts";

/** A TCP echo server plus a UDP listener that logs every datagram, as a child of each host. */
const ECHO_SERVER = `
import net from "node:net";
import dgram from "node:dgram";
const port = Number(Deno.args[0]);
const udp = dgram.createSocket("udp4");
udp.on("message", (message) => console.log("udp " + message.toString().trim()));
udp.bind(port, "0.0.0.0", () => {
  net.createServer((socket) => socket.pipe(socket)).listen(port, "0.0.0.0", () => {
    console.log("listening");
  });
});
`;
const ECHO_PORT = 7000;
/** Generous for a loaded 2-core machine: Deno starts in well under a second when idle. */
const SERVER_START_DEADLINE_MS = 20_000;
const CONNECT_TIMEOUT_MS = 1_000;

interface Fixture {
  readonly network: TestNetwork;
  readonly directory: string;
  readonly serverPids: number[];
}

async function withNetwork(hosts: number, body: (fixture: Fixture) => Promise<void>) {
  const directory = await Deno.makeTempDir({ prefix: "hactl_netns_test_" });
  const network = await TestNetwork.create({ hosts });
  try {
    const scriptPath = `${directory}/echo_server.mjs`;
    await Deno.writeTextFile(scriptPath, ECHO_SERVER);
    const serverPids = [];
    for (let index = 0; index < hosts; index++) {
      const process = network.spawn(
        index,
        [Deno.execPath(), "run", "-A", "--quiet", scriptPath, String(ECHO_PORT)],
        { logPath: logPath(directory, index), env: { DENO_NO_UPDATE_CHECK: "1" } },
      );
      serverPids.push(process.pid);
    }
    for (let index = 0; index < hosts; index++) {
      await waitForLog(logPath(directory, index), "listening", SERVER_START_DEADLINE_MS);
    }
    await body({ network, directory, serverPids });
  } finally {
    await network.destroy();
    await Deno.remove(directory, { recursive: true });
  }
}

function logPath(directory: string, index: number): string {
  return `${directory}/host${index}.log`;
}

async function waitForLog(path: string, text: string, deadlineMs: number): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  while (performance.now() < deadline) {
    const content = await Deno.readTextFile(path).catch(() => "");
    if (content.includes(text)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Connectivity matrix "from>to" -> connected, every pair probed in parallel. */
async function reachability(network: TestNetwork): Promise<Record<string, boolean>> {
  const pairs: [number, number][] = [];
  for (let from = 0; from < network.hostCount; from++) {
    for (let to = 0; to < network.hostCount; to++) if (from !== to) pairs.push([from, to]);
  }
  const results = await Promise.all(
    pairs.map(([from, to]) =>
      network.canConnect(from, network.host(to).address, ECHO_PORT, CONNECT_TIMEOUT_MS)
    ),
  );
  return Object.fromEntries(pairs.map(([from, to], i) => [`${from}>${to}`, results[i] === true]));
}

/** Sends one line over TCP and reports whether it is echoed back within a second. */
async function echoes(network: TestNetwork, from: number, to: number): Promise<boolean> {
  const script = 'exec 3<>"/dev/tcp/$0/$1" && echo ping >&3 && read -r -t 1 line <&3 && ' +
    '[ "$line" = ping ]';
  const output = await network.run(
    from,
    ["bash", "-c", script, network.host(to).address, String(ECHO_PORT)],
    { allowFailure: true, timeoutMs: 3_000 },
  );
  return output.success;
}

async function sendUdp(network: TestNetwork, from: number, to: number, text: string) {
  const script = 'echo "$2" > "/dev/udp/$0/$1"';
  await network.run(from, [
    "bash",
    "-c",
    script,
    network.host(to).address,
    String(ECHO_PORT),
    text,
  ]);
}

Deno.test("three hosts reach each other; partition([0],[1,2]) cuts only host 0; heal restores", async () => {
  await withNetwork(3, async ({ network }) => {
    assertEquals(network.host(1).address.split(".").slice(0, 2).join("."), "10.231");
    const before = await reachability(network);
    assert(Object.values(before).every((ok) => ok), `all pairs connect: ${JSON.stringify(before)}`);

    await network.partition([0], [1, 2]);
    const cut = await reachability(network);
    assertEquals(cut, {
      "0>1": false,
      "0>2": false,
      "1>0": false,
      "1>2": true,
      "2>0": false,
      "2>1": true,
    });

    await network.heal();
    const healed = await reachability(network);
    assert(Object.values(healed).every((ok) => ok), `heal restores: ${JSON.stringify(healed)}`);
  });
});

Deno.test("partitionOneWay(0, 1) drops packets from 0 to 1 while 1's datagrams reach 0", async () => {
  await withNetwork(2, async ({ network, directory }) => {
    await network.partitionOneWay(0, 1);
    assertEquals(
      await network.canConnect(0, network.host(1).address, ECHO_PORT, CONNECT_TIMEOUT_MS),
      false,
      "TCP connect from 0 to 1 must fail",
    );
    await sendUdp(network, 0, 1, "from-0");
    await sendUdp(network, 1, 0, "from-1");
    assert(await waitForLog(logPath(directory, 0), "udp from-1", 5_000), "1 -> 0 arrives");
    // Delivery on a local bridge takes microseconds; the arrival of 1 -> 0 plus a margin shows
    // that 0 -> 1, sent first, was dropped rather than late.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const hostOneLog = await Deno.readTextFile(logPath(directory, 1));
    assert(!hostOneLog.includes("udp from-0"), "0 -> 1 must be dropped");

    await network.heal();
    assert(await network.canConnect(0, network.host(1).address, ECHO_PORT), "heal restores 0 -> 1");
  });
});

Deno.test("partitionPort cuts one TCP port between hosts and leaves other ports alone", async () => {
  await withNetwork(2, async ({ network }) => {
    const address = network.host(1).address;
    await network.partitionPort([0], [1], ECHO_PORT + 1);
    assert(await network.canConnect(0, address, ECHO_PORT), "another port's cut leaves it open");
    await network.partitionPort([0], [1], ECHO_PORT);
    assertEquals(await network.canConnect(0, address, ECHO_PORT, CONNECT_TIMEOUT_MS), false);
    assertEquals(
      await network.canConnect(1, network.host(0).address, ECHO_PORT, CONNECT_TIMEOUT_MS),
      false,
      "the port is cut in both directions",
    );
    await network.heal();
    assert(await network.canConnect(0, address, ECHO_PORT), "heal restores the port");
  });
});

Deno.test("freeze stops a process answering and thaw resumes it; killHost empties a host", async () => {
  await withNetwork(2, async ({ network, serverPids }) => {
    const serverOnOne = serverPids[1] ?? -1;
    assert(await echoes(network, 0, 1), "echo works before the freeze");
    network.freeze(serverOnOne);
    assertEquals(await echoes(network, 0, 1), false, "a frozen server does not answer");
    network.thaw(serverOnOne);
    assert(await echoes(network, 0, 1), "echo works again after thaw");

    const frozen = await network.freezeHost(1);
    assert(frozen.includes(serverOnOne), `freezeHost stopped the server: ${frozen}`);
    assertEquals(await echoes(network, 0, 1), false, "a frozen host does not answer");
    await network.thawHost(1);
    assert(await echoes(network, 0, 1), "a thawed host answers");

    await network.killHost(1);
    assertEquals(await network.processesOf(1), []);
    assertEquals(await echoes(network, 0, 1), false, "a killed host does not answer");
  });
});

Deno.test("run executes inside the namespace, as another user, under a skewed clock", async () => {
  const network = await TestNetwork.create({ hosts: 1 });
  try {
    const user = await network.run(0, ["id", "-un"], { user: "postgres" });
    assertEquals(user.stdout.trim(), "postgres");
    const addresses = await network.run(0, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    assertStringIncludes(addresses.stdout, `${network.host(0).address}/24`);
    const skewMs = 3_600_000;
    const clock = await network.run(0, ["date", "+%s"], { clockSkew: { offsetMs: skewMs } });
    const shiftMs = Number(clock.stdout.trim()) * 1000 - Date.now();
    assert(Math.abs(shiftMs - skewMs) < 10_000, `clock is shifted by ${shiftMs} ms`);
  } finally {
    await network.destroy();
  }
});

Deno.test("destroy kills the network's processes and leaves no namespace; it is idempotent", async () => {
  const network = await TestNetwork.create({ hosts: 2 });
  const sleeper = network.spawn(1, ["sleep", "600"]);
  assert((await listNamespaces()).some((name) => name.startsWith(network.prefix)));
  await network.destroy();
  await network.destroy();
  const status = await sleeper.status;
  assertEquals(status.signal, "SIGKILL");
  const left = (await listNamespaces()).filter((name) => name.startsWith(network.prefix));
  assertEquals(left, []);
  let error: unknown = null;
  try {
    await network.partition([0], [1]);
  } catch (caught) {
    error = caught;
  }
  assertStringIncludes(String(error), "already destroyed");
});

/** Starts a Deno process that builds a 2-host network, prints its prefix, then ends by `signal`. */
async function runEndedBy(signal: Deno.Signal): Promise<string> {
  const moduleUrl = new URL("./netns.ts", import.meta.url).href;
  const script = `import { TestNetwork } from "${moduleUrl}";
    const network = await TestNetwork.create({ hosts: 2 });
    network.spawn(0, ["sleep", "600"]);
    console.log(network.prefix);
    await new Promise(() => {});`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  const prefix = (first.value ?? "").trim();
  child.kill(signal);
  await child.status;
  await reader.cancel();
  assert(prefix.startsWith("hx"), `the run printed its prefix: '${prefix}'`);
  return prefix;
}

Deno.test("a run ended by SIGTERM removes its own namespaces in its signal handler", async () => {
  const prefix = await runEndedBy("SIGTERM");
  assertEquals((await listNamespaces()).filter((name) => name.startsWith(prefix)), []);
});

Deno.test("cleanupStale removes the namespaces of a run that was SIGKILLed", async () => {
  const prefix = await runEndedBy("SIGKILL");
  assert((await listNamespaces()).some((name) => name.startsWith(prefix)), "leftovers exist");

  const deleted = await cleanupStale();
  assertEquals(deleted.filter((name) => name.startsWith(prefix)).length, 3);
  assertEquals((await listNamespaces()).filter((name) => name.startsWith(prefix)), []);
});

Deno.test("TestNetwork.create refuses to run without root and says why", async () => {
  const moduleUrl = new URL("./netns.ts", import.meta.url).href;
  const script = `import { TestNetwork } from "${moduleUrl}";
    try { await TestNetwork.create({ hosts: 1 }); console.log("created"); }
    catch (error) { console.log(String(error)); }`;
  const denoDirectory = await Deno.makeTempDir({ prefix: "hactl_netns_nobody_" });
  try {
    await Deno.chmod(denoDirectory, 0o777);
    const output = await new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        Deno.execPath(),
        "eval",
        script,
      ],
      env: { DENO_DIR: denoDirectory, DENO_NO_UPDATE_CHECK: "1", HOME: denoDirectory },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assertStringIncludes(stdout, "must run as root", new TextDecoder().decode(output.stderr));
  } finally {
    await Deno.remove(denoDirectory, { recursive: true });
  }
});
