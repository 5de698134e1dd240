/**
 * The gateway on real sockets, with TCP servers standing in for two nodes' Postgres and a
 * status snapshot the test controls: a connection is forwarded to the leader's address,
 * byte for byte; when the leader changes, sessions to the old one are closed and new ones
 * reach the new leader; with no leader, or a leader without write authority, connections
 * are closed at once. (test/cluster/cluster_test.ts drives it through a real failover.)
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { AgentHandle, AgentStatus } from "../../src/agent/agent_handle.ts";
import { Logger } from "../../src/agent/logger.ts";
import { gatewayTarget, PrimaryGateway } from "../../src/gateway/primary_gateway.ts";

/** A TCP server that answers every chunk with its name and the chunk. */
function namedEcho(name: string): { listener: Deno.Listener; port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const connection of listener) {
      (async () => {
        const buffer = new Uint8Array(1024);
        try {
          for (;;) {
            const count = await connection.read(buffer);
            if (count === null) break;
            const text = new TextDecoder().decode(buffer.subarray(0, count));
            await connection.write(new TextEncoder().encode(`${name}:${text}`));
          }
        } catch { /* closed by the gateway */ }
        try {
          connection.close();
        } catch { /* already closed */ }
      })();
    }
  })();
  return { listener, port: (listener.addr as Deno.NetAddr).port };
}

function statusOf(
  leader: string | null,
  ports: Record<string, number>,
  options: { self?: string; authority?: boolean } = {},
): AgentStatus {
  const members = Object.entries(ports).map(([id, port]) => ({
    id,
    raft: { hostname: "127.0.0.1", port: 1 },
    postgres: { hostname: "127.0.0.1", port },
    api: { hostname: "127.0.0.1", port: 2 },
  }));
  return {
    nodeId: options.self ?? "n3",
    raft: { leader, writeAuthority: options.authority ?? false },
    members,
    refusal: null,
  } as unknown as AgentStatus;
}

/** Sends `text` and returns the answer, or "closed" when the gateway closed the connection. */
async function exchange(connection: Deno.Conn, text: string): Promise<string> {
  try {
    await connection.write(new TextEncoder().encode(text));
    const buffer = new Uint8Array(1024);
    const count = await connection.read(buffer);
    return count === null ? "closed" : new TextDecoder().decode(buffer.subarray(0, count));
  } catch {
    return "closed";
  }
}

Deno.test("gatewayTarget: the leader's Postgres, never a leader without authority", () => {
  const ports = { n1: 5001, n2: 5002 };
  assertEquals(gatewayTarget(statusOf("n1", ports)), {
    id: "n1",
    hostname: "127.0.0.1",
    port: 5001,
  });
  assertEquals(gatewayTarget(statusOf(null, ports)), null);
  assertEquals(gatewayTarget(statusOf("n1", ports, { self: "n1", authority: false })), null);
  assertEquals(gatewayTarget(statusOf("n1", ports, { self: "n1", authority: true }))?.port, 5001);
  assertEquals(gatewayTarget(statusOf("n9", ports)), null);
});

Deno.test({
  name: "the gateway forwards to the leader and cuts sessions when the leader changes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const first = namedEcho("n1");
    const second = namedEcho("n2");
    const ports = { n1: first.port, n2: second.port };
    let status = statusOf("n1", ports);
    const agent = { status: () => status } as unknown as AgentHandle;
    const gateway = PrimaryGateway.start(
      agent,
      { hostname: "127.0.0.1", port: 0 },
      new Logger("n3", "error"),
    );
    const connect = () => Deno.connect({ hostname: "127.0.0.1", port: gateway.port });
    try {
      const before = await connect();
      assertEquals(await exchange(before, "hello"), "n1:hello");
      status = statusOf("n2", ports);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assertEquals(await exchange(before, "still there?"), "closed");
      const after = await connect();
      assertEquals(await exchange(after, "hello"), "n2:hello");
      after.close();
      status = statusOf(null, ports);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const none = await connect();
      assertEquals(await exchange(none, "anyone?"), "closed");
      const counters = gateway.counters();
      assert(counters.refused >= 1, JSON.stringify(counters));
      assertEquals(counters.accepted, 2);
    } finally {
      gateway.close();
      first.listener.close();
      second.listener.close();
    }
  },
});

/** Connects to the gateway and returns the echo of "hello", "closed", or "no answer" (5 s). */
async function hello(port: number): Promise<string> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("no answer"), 5_000);
  });
  try {
    return await Promise.race([exchange(connection, "hello"), silence]);
  } finally {
    clearTimeout(timer);
    connection.close();
  }
}

Deno.test({
  name: "accept errors pause the gateway's accept loop with a backoff; they do not end it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // Injected through the listener seam: the first 5 accepts fail as with EMFILE. (A real
    // EMFILE under prlimit is not usable here: Deno 2.9 itself panics when it runs out of file
    // descriptors, in its signal handling.) Before, the first accept error ended the loop.
    const echo = namedEcho("n1");
    let failuresLeft = 5;
    const agent = { status: () => statusOf("n1", { n1: echo.port }) } as unknown as AgentHandle;
    const gateway = PrimaryGateway.start(
      agent,
      { hostname: "127.0.0.1", port: 0 },
      new Logger("n3", "error"),
      {
        wrapListener: (listener) => ({
          addr: listener.addr,
          close: () => listener.close(),
          accept: () =>
            failuresLeft-- > 0
              ? Promise.reject(new Error("Too many open files (os error 24)"))
              : listener.accept(),
        }),
      },
    );
    try {
      assertEquals(await hello(gateway.port), "n1:hello");
      assertEquals(await hello(gateway.port), "n1:hello");
      assertEquals(gateway.counters().acceptErrors, 5);
    } finally {
      gateway.close();
      echo.listener.close();
    }
  },
});

Deno.test({
  name: "at its connection cap the gateway closes newcomers and serves again below it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const echo = namedEcho("n1");
    const agent = { status: () => statusOf("n1", { n1: echo.port }) } as unknown as AgentHandle;
    const gateway = PrimaryGateway.start(
      agent,
      { hostname: "127.0.0.1", port: 0 },
      new Logger("n3", "error"),
      { maxConnections: 2 },
    );
    const held: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        held.push(await Deno.connect({ hostname: "127.0.0.1", port: gateway.port }));
        assertEquals(await exchange(held[i]!, "hi"), "n1:hi");
      }
      assertEquals(await hello(gateway.port), "closed");
      held.pop()!.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assertEquals(await hello(gateway.port), "n1:hello");
      assertEquals(gateway.counters().refused, 1);
    } finally {
      for (const connection of held) connection.close();
      gateway.close();
      echo.listener.close();
    }
  },
});
