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
