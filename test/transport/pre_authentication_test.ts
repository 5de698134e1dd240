/**
 * Pre-authentication limits of the peer transport, with real sockets against a real
 * PeerTransport: idle junk connections held open do not lock a real peer out (the oldest junk
 * is closed to make room); frames announced larger than an authentication frame are refused
 * before their bytes are buffered or hashed, so memory stays bounded; and a flood of refused
 * connections is reported once per source per interval, with a count, while every refusal is
 * still counted.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { MAX_FRAME_BYTES, MAX_UNAUTHENTICATED_FRAME_BYTES } from "../../src/transport/frame.ts";
import { DEFAULT_TRANSPORT_LIMITS } from "../../src/transport/transport_limits.ts";
import {
  connectAll,
  LOOPBACK,
  RawClient,
  startRecordingNode,
  timeoutNow,
  waitFor,
} from "./transport_helpers.ts";

/** Opens `count` connections that read their hello and then stay silent. */
async function holdJunk(port: number, count: number): Promise<Deno.TcpConn[]> {
  const held: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    held.push(await Deno.connect({ hostname: LOOPBACK, port }));
  }
  return held;
}

function closeAll(connections: readonly Deno.Conn[]): void {
  for (const connection of connections) {
    try {
      connection.close();
    } catch {
      // Closed by the transport already.
    }
  }
}

Deno.test("48 idle junk connections held open do not keep a real peer out", async () => {
  // Before: 16 pending slots held 5 s each refused every newcomer, the real peer included, for
  // as long as the neighbour kept its connections open (30 s in the report).
  const node2 = startRecordingNode("node2", { limits: { handshakeTimeoutMs: 30_000 } });
  const junk = await holdJunk(node2.address.port, 48);
  const node1 = startRecordingNode("node1");
  try {
    connectAll([node1, node2]);
    const startedMs = performance.now();
    assert(node1.transport.send(timeoutNow("node1", "node2", 1)));
    // The handshake timeout is 30 s: delivery before it proves the junk did not hold the slot.
    await waitFor(() => node2.received.length === 1, "delivery past the junk", 20_000);
    const elapsedMs = performance.now() - startedMs;
    console.log(
      `real peer delivered through 48 held junk connections in ${elapsedMs.toFixed(1)} ms`,
    );
    assertEquals(node1.peerDown, []);
    const closedJunk = node2.rejections.filter((r) =>
      r.reason.includes("closed an unauthenticated connection")
    );
    assert(closedJunk.length > 0, "junk was closed to make room");
  } finally {
    closeAll(junk);
    await Promise.all([node1.transport.close(), node2.transport.close()]);
  }
});

Deno.test("a neighbour reconnecting in a loop does not keep a real peer out", async () => {
  const node2 = startRecordingNode("node2");
  const node1 = startRecordingNode("node1");
  let flooding = true;
  const flood = (async () => {
    while (flooding) {
      const connection = await Deno.connect({ hostname: LOOPBACK, port: node2.address.port });
      // Hold each a little, as a neighbour filling the slots would.
      setTimeout(() => closeAll([connection]), 2_000);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    connectAll([node1, node2]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let round = 1; round <= 5; round++) {
      assert(node1.transport.send(timeoutNow("node1", "node2", round)));
    }
    await waitFor(() => node2.received.length === 5, "every message delivered during the flood");
  } finally {
    flooding = false;
    await flood;
    await Promise.all([node1.transport.close(), node2.transport.close()]);
  }
});

/** Sends `frames` frames of `frameBytes` each, streamed from a 1 MiB buffer; stops on error. */
async function sendHugeFrames(port: number, frames: number, frameBytes: number): Promise<number> {
  const client = await RawClient.connect({ hostname: LOOPBACK, port });
  const chunk = new Uint8Array(1024 * 1024).fill(0x41);
  let written = 0;
  try {
    for (let frame = 0; frame < frames; frame++) {
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, frameBytes);
      await client.write(prefix);
      for (let sent = 0; sent < frameBytes; sent += chunk.length) {
        await client.write(chunk.subarray(0, Math.min(chunk.length, frameBytes - sent)));
        written += chunk.length;
      }
    }
  } catch {
    // The transport closed the connection: what we wanted.
  } finally {
    client.close();
  }
  return written;
}

Deno.test("frames over the pre-authentication cap are refused before they are buffered", async () => {
  // Before: 8 connections x 3 frames of 32 MiB took a leader from 92 to 461 MiB resident.
  // (All 8 come from 127.0.0.1: the per-source limit is raised so that all 8 are served.)
  const node2 = startRecordingNode("node2", {
    limits: { maxUnauthenticatedConnectionsPerSource: 8 },
  });
  try {
    const frameBytes = MAX_FRAME_BYTES - 1024;
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
    const written = await Promise.all(
      Array.from({ length: 8 }, () => sendHugeFrames(node2.address.port, 3, frameBytes)),
    );
    clearInterval(sampler);
    const growthMiB = (peak - before) / 2 ** 20;
    console.log(
      `8 connections announcing 3 x ${(frameBytes / 2 ** 20).toFixed(0)} MiB frames: ` +
        `resident memory grew by ${growthMiB.toFixed(1)} MiB; ` +
        `bytes written before being cut off: ${written.join(", ")}`,
    );
    const refusals = node2.rejections.filter((r) =>
      r.reason.includes(`over the ${MAX_UNAUTHENTICATED_FRAME_BYTES}-byte limit of a connection`)
    );
    assertEquals(refusals.length, 8, JSON.stringify(node2.rejections));
    // No connection got anywhere near one frame through before being cut off (socket buffers
    // absorb a few MiB), and resident memory grew by far less than one 32 MiB frame.
    for (const bytes of written) assert(bytes < frameBytes, `${bytes} bytes accepted`);
    assert(growthMiB < 32, `resident memory grew by ${growthMiB} MiB`);
    assertEquals(node2.received, []);
  } finally {
    await node2.transport.close();
  }
});

Deno.test("a flood of refused connections is reported once per source per interval, with a count", async () => {
  // Before: one log line per refusal, 714,250 lines (108 MB) in 30 s.
  const node2 = startRecordingNode("node2", {
    limits: { refusalReportIntervalMs: DEFAULT_TRANSPORT_LIMITS.refusalReportIntervalMs },
  });
  try {
    const attempts = 300;
    for (let i = 0; i < attempts; i++) {
      const connection = await Deno.connect({ hostname: LOOPBACK, port: node2.address.port });
      await connection.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      const read = await connection.read(new Uint8Array(64)).catch(() => null);
      closeAll([connection]);
      assert(read !== null, "the hello arrives before the refusal");
    }
    await waitFor(
      () => node2.transport.counters().framesRejected >= attempts,
      "every refusal counted",
    );
    // All 300 come from 127.0.0.1 within one interval: one report.
    assertEquals(node2.rejections.length, 1, JSON.stringify(node2.rejections.slice(0, 3)));
    assert(node2.rejections[0]!.reason.includes("frame length prefix"));
  } finally {
    await node2.transport.close();
  }
});
