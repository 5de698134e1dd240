/**
 * The peer transport over real TCP on 127.0.0.1: messages between three nodes arrive intact and
 * in order; unauthenticated, foreign, tampered, replayed, misattributed, truncated and oversized
 * frames are refused with a clear reason while valid traffic keeps flowing; a dead or stalled
 * peer never blocks sends to the others and its outbox stays bounded; links come back after a
 * peer restarts.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Message, NodeId } from "../../src/core/types.ts";
import { PeerTransport } from "../../src/transport/peer_transport.ts";
import { SAMPLE_MESSAGES } from "./sample_messages.ts";
import {
  CLUSTER_ID,
  connectAll,
  LOOPBACK,
  RawClient,
  type RecordingNode,
  SECRET,
  startRecordingNode,
  timeoutNow,
  waitFor,
} from "./transport_helpers.ts";

function addressed(message: Message, from: NodeId, to: NodeId): Message {
  return { ...message, from, to };
}

async function closeAll(nodes: readonly RecordingNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

Deno.test("three transports on 127.0.0.1 deliver every message kind to each other, in order", async () => {
  const nodes = ["node1", "node2", "node3"].map((id) => startRecordingNode(id));
  try {
    connectAll(nodes);
    const expected = new Map<NodeId, Message[]>(nodes.map((node) => [node.id, []]));
    for (const sender of nodes) {
      for (const receiver of nodes.filter((node) => node !== sender)) {
        for (const sample of SAMPLE_MESSAGES) {
          const message = addressed(sample, sender.id, receiver.id);
          assert(sender.transport.send(message));
          expected.get(receiver.id)!.push(message);
        }
      }
    }
    const perNode = 2 * SAMPLE_MESSAGES.length;
    await waitFor(
      () => nodes.every((node) => node.received.length === perNode),
      "all messages delivered",
    );
    for (const node of nodes) {
      for (const sender of nodes.filter((other) => other !== node)) {
        // Per sender the order must be kept: one connection per direction, frames in sequence.
        const fromSender = (messages: Message[]) =>
          messages.filter((message) => message.from === sender.id);
        assertEquals(fromSender(node.received), fromSender(expected.get(node.id)!));
      }
      assertEquals(node.rejections, []);
      const counters = node.transport.counters();
      assertEquals(counters.messagesSent, perNode);
      assertEquals(counters.messagesReceived, perNode);
      assertEquals(counters.messagesDropped, 0);
      assertEquals(counters.framesRejected, 0);
    }
  } finally {
    await closeAll(nodes);
  }
});

/** A bad input sent by hand, the reason expected, and whether the connection must be closed. */
interface BadInput {
  readonly what: string;
  readonly send: (client: RawClient, other: RawClient) => Promise<void>;
  readonly reason: string;
  readonly closesConnection: boolean;
}

const BAD_INPUTS: readonly BadInput[] = [
  {
    what: "a frame signed with another secret",
    send: (client) =>
      client.write(
        client.frame(timeoutNow("node1", "node2", 1), { secret: "not-the-cluster-secret" }),
      ),
    reason: "frame from node1 failed authentication (HMAC mismatch)",
    closesConnection: true,
  },
  {
    what: "a frame of another cluster",
    send: (client) =>
      client.write(client.frame(timeoutNow("node1", "node2", 1), { clusterId: "other-cluster" })),
    reason: "is for cluster other-cluster, this node is in cluster test-cluster",
    closesConnection: true,
  },
  {
    what: "a message whose from differs from the authenticated sender",
    send: (client) => client.write(client.frame(timeoutNow("node3", "node2", 1))),
    reason: "message says it is from node3, but its frame is authenticated as node1",
    closesConnection: false,
  },
  {
    what: "a message addressed to another node",
    send: (client) => client.write(client.frame(timeoutNow("node1", "node3", 1))),
    reason: "message from node1 is addressed to node3, this node is node2",
    closesConnection: false,
  },
  {
    what: "an authenticated frame with an invalid message",
    send: (client) =>
      client.write(client.frame(new TextEncoder().encode('{"kind":"vote","from":"node1"}'))),
    reason: "invalid message from node1: vote.to: expected a node id",
    closesConnection: false,
  },
  {
    what: "a frame from a node that is not a peer",
    send: (client) =>
      client.write(client.frame(timeoutNow("node9", "node2", 1), { senderId: "node9" })),
    reason: "frame from node9, which is not a peer of this node",
    closesConnection: true,
  },
  {
    what: "garbage (an HTTP request)",
    send: (client) => client.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
    reason: "frame length prefix 1195725856 is over the",
    closesConnection: true,
  },
  {
    what: "garbage with a plausible length",
    send: (client) => client.write(new Uint8Array([0, 0, 0, 40, ...new Uint8Array(40)])),
    reason: "malformed frame: frame cluster id is truncated or not an id",
    closesConnection: true,
  },
  {
    what: "an oversized length prefix",
    send: (client) => client.write(new Uint8Array([0xff, 0xff, 0xff, 0xf0])),
    reason: "frame length prefix 4294967280 is over the",
    closesConnection: true,
  },
  {
    what: "a truncated frame",
    send: async (client) => {
      const frame = client.frame(timeoutNow("node1", "node2", 1));
      await client.write(frame.subarray(0, frame.length - 10));
      client.close();
    },
    reason: "connection ended inside a frame",
    closesConnection: true,
  },
  {
    what: "a frame replayed from another connection",
    send: (client, other) => client.write(other.frame(timeoutNow("node1", "node2", 1))),
    reason: "frame from node1 failed authentication",
    closesConnection: true,
  },
  {
    what: "a frame replayed on its own connection",
    send: async (client) => {
      const frame = client.frame(timeoutNow("node1", "node2", 1));
      await client.write(frame);
      await client.write(frame);
    },
    reason: "frame from node1 has sequence 0, expected 1",
    closesConnection: true,
  },
  {
    what: "a frame with a bit flipped in its payload",
    send: (client) => {
      const frame = client.frame(timeoutNow("node1", "node2", 1));
      frame[frame.length - 40]! ^= 0x04;
      return client.write(frame);
    },
    reason: "failed authentication",
    closesConnection: true,
  },
];

Deno.test("refused frames are reported with a clear reason and valid traffic keeps flowing", async () => {
  const [node1, node2] = [startRecordingNode("node1"), startRecordingNode("node2")];
  try {
    connectAll([node1, node2]);
    let term = 0;
    for (const bad of BAD_INPUTS) {
      const client = await RawClient.connect(node2.address);
      const other = await RawClient.connect(node2.address);
      try {
        const before = node2.rejections.length;
        await bad.send(client, other);
        await waitFor(() => node2.rejections.length > before, `a rejection of ${bad.what}`);
        const reported = node2.rejections.slice(before).map((rejection) => rejection.reason).join(
          " | ",
        );
        assert(
          reported.includes(bad.reason),
          `${bad.what}: reported "${reported}", expected "${bad.reason}"`,
        );
        assert(node2.rejections[before]!.remote.startsWith(`${LOOPBACK}:`));
        if (bad.closesConnection) {
          assert(await client.closedByPeer(), `${bad.what}: connection left open`);
        } else assert(!(await client.closedByPeer(200)), `${bad.what}: connection closed`);
        // The real peer still gets through, on its own connection.
        term++;
        node1.transport.send(timeoutNow("node1", "node2", term));
        await waitFor(
          () => node2.received.some((message) => message.from === "node1" && message.term === term),
          `delivery after ${bad.what}`,
        );
      } finally {
        client.close();
        other.close();
      }
    }
    assertEquals(node2.transport.counters().framesRejected, node2.rejections.length);
    // Only the real peer's messages and the first copy of the replayed frame were delivered.
    assertEquals(node2.received.filter((message) => message.term === 1).length, 2);
  } finally {
    await closeAll([node1, node2]);
  }
});

Deno.test("connections that never authenticate are closed; beyond the cap the oldest goes first", async () => {
  const node2 = startRecordingNode("node2", {
    limits: {
      handshakeTimeoutMs: 300,
      maxUnauthenticatedConnections: 3,
      maxUnauthenticatedConnectionsPerSource: 3,
    },
  });
  node2.transport.setPeers(new Map([["node1", { hostname: LOOPBACK, port: 1 }]]));
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(await RawClient.connect(node2.address));
    // The fourth gets its hello; the oldest stranger is closed to make room for it.
    clients.push(await RawClient.connect(node2.address));
    assert(await clients[0]!.closedByPeer(), "the oldest stranger is closed first");
    assert(
      node2.rejections.some((r) => r.reason.includes("closed an unauthenticated connection")),
      JSON.stringify(node2.rejections),
    );
    for (const client of clients.slice(1)) {
      assert(await client.closedByPeer(), "idle stranger kept");
    }
    assert(node2.rejections.some((r) => r.reason.includes("no authenticated frame within 300 ms")));
  } finally {
    for (const client of clients) client.close();
    await node2.transport.close();
  }
});

/** A listener that accepts connections and never answers (no hello): a hung peer. */
function startSilentListener(): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const connection of listener) held.push(connection);
    } catch {
      // Listener closed.
    }
  })();
  return {
    port: listener.addr.port,
    close: async () => {
      listener.close();
      for (const connection of held) connection.close();
      await accepting;
    },
  };
}

/** A port on which nothing listens (bound, then released). */
function deadPort(): number {
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("a dead and a hung peer do not delay sends to a live one, and their outboxes stay bounded", async () => {
  const maxQueued = 8;
  const limits = {
    maxQueuedMessagesPerPeer: maxQueued,
    helloTimeoutMs: 200,
    maxReconnectDelayMs: 100,
  };
  const node1 = startRecordingNode("node1", { limits });
  const node2 = startRecordingNode("node2");
  const silent = startSilentListener();
  try {
    node1.transport.setPeers(
      new Map([
        ["node2", node2.address],
        ["dead", { hostname: LOOPBACK, port: deadPort() }],
        ["hung", { hostname: LOOPBACK, port: silent.port }],
      ]),
    );
    node2.transport.setPeers(new Map([["node1", node1.address]]));
    const startedMs = performance.now();
    const rounds = 100;
    for (let round = 1; round <= rounds; round++) {
      node1.transport.send(timeoutNow("node1", "dead", round));
      node1.transport.send(timeoutNow("node1", "hung", round));
      node1.transport.send(timeoutNow("node1", "node2", round));
      // Each round reaches the live peer while the other two outboxes are full.
      await waitFor(
        () => node2.received.length === round,
        `round ${round} at the live peer`,
        2_000,
      );
    }
    const elapsedMs = performance.now() - startedMs;
    assertEquals(
      node2.received.map((message) => message.term),
      Array.from({ length: rounds }, (_, i) => i + 1),
    );
    assert(node1.transport.queuedMessages("dead") <= maxQueued);
    assert(node1.transport.queuedMessages("hung") <= maxQueued);
    const counters = node1.transport.counters();
    assert(
      counters.messagesDropped >= 2 * (rounds - maxQueued) - 2,
      `dropped ${counters.messagesDropped}`,
    );
    await waitFor(() => node1.peerDown.length >= 2, "both outages reported");
    const reasons = node1.peerDown.map((down) => `${down.peer}: ${down.reason}`).join("\n");
    assert(/dead at 127\.0\.0\.1:\d+: .*refused/i.test(reasons), reasons);
    assert(reasons.includes("waiting for the hello did not finish within 200 ms"), reasons);
    console.log(
      `${rounds} rounds delivered in ${
        elapsedMs.toFixed(0)
      } ms; dropped ${counters.messagesDropped}`,
    );
  } finally {
    await closeAll([node1, node2]);
    await silent.close();
  }
});

Deno.test("a peer that stops reading is cut off by the write timeout without blocking others", async () => {
  const node1 = startRecordingNode("node1", {
    limits: { writeTimeoutMs: 300, maxQueuedMessagesPerPeer: 4 },
  });
  const node2 = startRecordingNode("node2");
  // A raw peer that sends a valid hello and then never reads: its socket buffers fill up.
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const connection of listener) {
        held.push(connection);
        await connection.write(new Uint8Array([0x48, 0x43, 0x54, 0x4c, 1, ...new Uint8Array(16)]));
      }
    } catch {
      // Listener closed.
    }
  })();
  try {
    node1.transport.setPeers(
      new Map([["node2", node2.address], ["stuck", {
        hostname: LOOPBACK,
        port: listener.addr.port,
      }]]),
    );
    node2.transport.setPeers(new Map([["node1", node1.address]]));
    const big = bigSnapshot("node1", "stuck");
    // Keep the outbox full until the kernel's socket buffers are full too and a write stalls.
    const cutOff = () =>
      node1.peerDown.some((down) => down.reason.includes("sending a frame did not finish"));
    const feeder = setInterval(() => {
      for (let i = 0; i < 8; i++) node1.transport.send(big);
    }, 20);
    try {
      await waitFor(cutOff, "write timeout");
    } finally {
      clearInterval(feeder);
    }
    node1.transport.send(timeoutNow("node1", "node2", 1));
    await waitFor(() => node2.received.length === 1, "delivery to the live peer");
    assert(node1.transport.queuedMessages("stuck") <= 4);
  } finally {
    await closeAll([node1, node2]);
    listener.close();
    for (const connection of held) connection.close();
    await accepting;
  }
});

/** A snapshot message of about 1 MB. */
function bigSnapshot(from: NodeId, to: NodeId): Message {
  const keyValues = Object.fromEntries(
    Array.from({ length: 250 }, (_, i) => [`key${i}`, "v".repeat(4000)]),
  );
  return {
    kind: "snapshot",
    from,
    to,
    term: 3,
    snapshot: {
      lastIndex: 10,
      lastTerm: 3,
      state: {
        membership: { voters: [from, to], learners: [] },
        paused: false,
        syncMode: "quorum",
        switchoverTarget: null,
        keyValues,
      },
    },
    round: 1,
    leaderPosition: null,
  };
}

Deno.test("after a peer restarts on the same port, messages reach it again", async () => {
  const node1 = startRecordingNode("node1", { limits: { maxReconnectDelayMs: 50 } });
  let node2 = startRecordingNode("node2");
  const port = node2.address.port;
  try {
    connectAll([node1, node2]);
    node1.transport.send(timeoutNow("node1", "node2", 1));
    await waitFor(() => node2.received.length === 1, "first delivery");
    await node2.transport.close();
    node1.transport.send(timeoutNow("node1", "node2", 2));
    await waitFor(() => node1.peerDown.length > 0, "the outage noticed");
    node2 = startRecordingNodeOnPort("node2", port);
    node2.transport.setPeers(new Map([["node1", node1.address]]));
    // Raft resends on its own; the test does the same until one gets through.
    let term = 3;
    await waitFor(() => {
      node1.transport.send(timeoutNow("node1", "node2", term++));
      return node2.received.length > 0;
    }, "delivery after the restart");
  } finally {
    await closeAll([node1, node2]);
  }
});

function startRecordingNodeOnPort(id: NodeId, port: number): RecordingNode {
  const received: Message[] = [];
  const rejections: { reason: string; remote: string }[] = [];
  const transport = new PeerTransport({
    nodeId: id,
    clusterId: CLUSTER_ID,
    secret: SECRET,
    listen: { hostname: LOOPBACK, port },
    peers: new Map(),
    onMessage: (message) => received.push(message),
    onRejected: (reason, remote) => rejections.push({ reason, remote }),
  });
  transport.start();
  return {
    id,
    transport,
    received,
    rejections,
    peerDown: [],
    sendRefused: [],
    address: transport.listenAddress,
  };
}

Deno.test("a peer removed by setPeers can no longer send to or receive from this node", async () => {
  const [node1, node2] = [startRecordingNode("node1"), startRecordingNode("node2")];
  try {
    connectAll([node1, node2]);
    node1.transport.send(timeoutNow("node1", "node2", 1));
    await waitFor(() => node2.received.length === 1, "delivery while a peer");
    node2.transport.setPeers(new Map());
    assertEquals(node2.transport.send(timeoutNow("node2", "node1", 1)), false);
    let term = 2;
    await waitFor(() => {
      node1.transport.send(timeoutNow("node1", "node2", term++));
      return node2.rejections.some((r) =>
        r.reason.includes("frame from node1, which is not a peer")
      );
    }, "refusal of the removed peer");
    assertEquals(node2.received.length, 1);
  } finally {
    await closeAll([node1, node2]);
  }
});

Deno.test("an invalid message, or one from another node, is refused and counted, never thrown", async () => {
  // Such a message is a bug of this node, but one a remote value may have caused (a key the
  // codec refuses, a term over the bound): throwing here used to stop the agent.
  const node1 = startRecordingNode("node1");
  const node2 = startRecordingNode("node2");
  try {
    connectAll([node1, node2]);
    assertEquals(node1.transport.send({ ...timeoutNow("node1", "node2", 1), term: -1 }), false);
    assertEquals(node1.transport.send(timeoutNow("node2", "node1", 1)), false);
    assertEquals(
      node1.transport.send({ ...timeoutNow("node1", "node2", 1), term: 2 ** 53 - 1 }),
      false,
    );
    assert(
      node1.sendRefused[0]!.includes("timeout-now.term: expected a non-negative integer, got -1"),
    );
    assert(node1.sendRefused[1]!.includes("message from node2 given to the transport of node1"));
    assert(node1.sendRefused[2]!.includes("timeout-now.term: expected a term of at most"));
    assertEquals(node1.transport.counters().messagesRefused, 3);
    // The transport keeps working afterwards.
    assert(node1.transport.send(timeoutNow("node1", "node2", 1)));
    await waitFor(() => node2.received.length === 1, "the valid message after the refusals");
  } finally {
    await closeAll([node1, node2]);
  }
});

Deno.test("a transport with the same cluster name and node ids but another secret is refused", async () => {
  // Two clusters reuse node names and cluster name but not the secret: nothing crosses over.
  const ours = startRecordingNode("node2");
  const theirs = startRecordingNode("node1", { secret: "another-cluster-secret-abcdef" });
  try {
    connectAll([ours, theirs]);
    theirs.transport.send(timeoutNow("node1", "node2", 1));
    await waitFor(() => ours.rejections.length > 0, "refusal of the foreign secret");
    assert(ours.rejections[0]!.reason.includes("failed authentication"));
    assertEquals(ours.received, []);
  } finally {
    await closeAll([ours, theirs]);
  }
});
