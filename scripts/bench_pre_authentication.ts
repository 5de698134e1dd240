/**
 * Measures the peer transport under a hostile neighbour, with its default limits:
 *   memory  — resident memory of this process before and at its peak while 8 unauthenticated
 *             connections each send 3 frames announced at the largest frame size;
 *   lockout — how long a real peer takes to deliver one message while 48 idle connections are
 *             held open on the transport's port.
 *
 * Usage: deno run --allow-all scripts/bench_pre_authentication.ts memory|lockout [SOURCE_ROOT]
 * SOURCE_ROOT (default: this checkout) is a directory holding src/, so that another version of
 * the transport (e.g. `git archive HEAD src | tar -x -C /tmp/old`) can be measured the same way.
 * Run each scenario in its own process: resident memory is per process.
 *
 * @module
 */
import type { Message } from "../src/core/types.ts";

const [scenario, sourceRoot = new URL("..", import.meta.url).pathname] = Deno.args;
const transportModule = `file://${sourceRoot}/src/transport/peer_transport.ts`;
const frameModule = `file://${sourceRoot}/src/transport/frame.ts`;
const { PeerTransport } = await import(transportModule);
const { MAX_FRAME_BYTES } = await import(frameModule);
const SECRET = "bench-secret-0123456789abcdef0123";
const LOOPBACK = "127.0.0.1";

// deno-lint-ignore no-explicit-any
function transport(id: string, received: Message[]): any {
  const node = new PeerTransport({
    nodeId: id,
    clusterId: "bench",
    secret: SECRET,
    listen: { hostname: LOOPBACK, port: 0 },
    peers: new Map(),
    onMessage: (message: Message) => received.push(message),
    onRejected: () => {},
  });
  node.start();
  return node;
}

async function junkSender(port: number, frames: number, frameBytes: number): Promise<void> {
  const connection = await Deno.connect({ hostname: LOOPBACK, port });
  const chunk = new Uint8Array(1024 * 1024).fill(0x41);
  try {
    await connection.read(new Uint8Array(21));
    for (let frame = 0; frame < frames; frame++) {
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, frameBytes);
      await connection.write(prefix);
      for (let sent = 0; sent < frameBytes;) {
        sent += await connection.write(
          chunk.subarray(0, Math.min(chunk.length, frameBytes - sent)),
        );
      }
    }
    // Hold the connection a moment, as an attacker would, before letting go.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } catch {
    // Closed by the transport.
  } finally {
    try {
      connection.close();
    } catch { /* closed */ }
  }
}

async function memory(): Promise<void> {
  const node = transport("node2", []);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
  const frameBytes = MAX_FRAME_BYTES - 1024;
  await Promise.all(
    Array.from({ length: 8 }, () => junkSender(node.listenAddress.port, 3, frameBytes)),
  );
  clearInterval(sampler);
  console.log(`memory: rss before ${mib(before)} MiB, peak ${mib(peak)} MiB`);
  await node.close();
}

async function lockout(): Promise<void> {
  const received: Message[] = [];
  const node2 = transport("node2", received);
  const junk: Deno.Conn[] = [];
  for (let i = 0; i < 48; i++) {
    junk.push(await Deno.connect({ hostname: LOOPBACK, port: node2.listenAddress.port }));
  }
  const node1 = transport("node1", []);
  node1.setPeers(new Map([["node2", node2.listenAddress]]));
  node2.setPeers(new Map([["node1", node1.listenAddress]]));
  const startedMs = performance.now();
  const message: Message = { kind: "timeout-now", from: "node1", to: "node2", term: 1 };
  node1.send(message);
  while (received.length === 0 && performance.now() - startedMs < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const elapsedMs = performance.now() - startedMs;
  console.log(
    received.length > 0
      ? `lockout: a real peer delivered after ${
        elapsedMs.toFixed(0)
      } ms with 48 junk connections held`
      : "lockout: a real peer did not get through within 30000 ms",
  );
  for (const connection of junk) {
    try {
      connection.close();
    } catch { /* closed */ }
  }
  await Promise.all([node1.close(), node2.close()]);
}

if (scenario === "memory") await memory();
else if (scenario === "lockout") await lockout();
else {
  console.error("usage: bench_pre_authentication.ts memory|lockout [SOURCE_ROOT]");
  Deno.exit(2);
}
