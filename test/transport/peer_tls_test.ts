/**
 * Mutual TLS on the peer transport, with real sockets and certificates made by the same code as
 * `hactl init --nodes` (openssl): two transports with certificates of one CA exchange frames; a
 * peer whose certificate another CA signed is refused in both directions; a member with a valid
 * certificate for n2 that sends frames as n3 is refused and counted although its HMAC is valid;
 * a client without a certificate, and a plain-TCP client, never get a hello; and junk TLS
 * handshakes held open neither keep a real peer out nor outlive the handshake timeout.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import tls from "node:tls";
import { createClusterCertificates } from "../../src/cli/tls_files.ts";
import { type PeerTlsMaterial, readPeerTlsMaterial } from "../../src/transport/peer_tls.ts";
import {
  connectAll,
  LOOPBACK,
  RawClient,
  type RecordingNode,
  startTlsRecordingNode,
  timeoutNow,
  waitFor,
} from "./transport_helpers.ts";

/** Certificates of the cluster CA for n1-n3, and of another CA for n1. */
interface TestCertificates {
  readonly cluster: Map<string, PeerTlsMaterial>;
  readonly otherCa: PeerTlsMaterial;
  readonly directory: string;
}

async function makeCertificates(): Promise<TestCertificates> {
  const directory = await Deno.makeTempDir({ prefix: "hactl-peer-tls-" });
  const nodes = ["n1", "n2", "n3"].map((id) => ({ id, hosts: [LOOPBACK] }));
  const clusterFiles = await createClusterCertificates(`${directory}/ca`, "peer-tls", nodes);
  const otherFiles = await createClusterCertificates(`${directory}/other`, "other", [nodes[0]!]);
  const cluster = new Map<string, PeerTlsMaterial>();
  for (const [id, files] of clusterFiles) cluster.set(id, await readPeerTlsMaterial(files));
  return { cluster, otherCa: await readPeerTlsMaterial(otherFiles.get("n1")!), directory };
}

const certificates = await makeCertificates();

function material(id: string): PeerTlsMaterial {
  return certificates.cluster.get(id)!;
}

async function closeNodes(nodes: readonly RecordingNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

Deno.test("two transports with certificates of one CA exchange frames both ways", async () => {
  const n1 = await startTlsRecordingNode("n1", material("n1"));
  const n2 = await startTlsRecordingNode("n2", material("n2"));
  try {
    assert(n1.transport.tlsEnabled && n2.transport.tlsEnabled);
    connectAll([n1, n2]);
    const startedMs = performance.now();
    for (let term = 1; term <= 20; term++) assert(n1.transport.send(timeoutNow("n1", "n2", term)));
    assert(n2.transport.send(timeoutNow("n2", "n1", 7)));
    await waitFor(() => n2.received.length === 20 && n1.received.length === 1, "both directions");
    console.log(
      `20 + 1 frames over mutual TLS in ${(performance.now() - startedMs).toFixed(1)} ms`,
    );
    assertEquals(
      n2.received.map((message) => message.term),
      [...Array(20).keys()].map((i) => i + 1),
    );
    assertEquals(n1.received, [timeoutNow("n2", "n1", 7)]);
    assertEquals([n1.rejections, n2.rejections, n1.peerDown, n2.peerDown], [[], [], [], []]);
  } finally {
    await closeNodes([n1, n2]);
  }
});

Deno.test("a peer whose certificate another CA signed is refused, both directions", async () => {
  const n2 = await startTlsRecordingNode("n2", material("n2"));
  const stranger = await startTlsRecordingNode("n1", certificates.otherCa);
  try {
    connectAll([stranger, n2]);
    // The stranger dials n2: n2 refuses its client certificate during the handshake.
    assert(stranger.transport.send(timeoutNow("n1", "n2", 1)));
    await waitFor(
      () => n2.rejections.some((r) => r.reason.startsWith("TLS handshake failed")),
      "n2 refusing the foreign certificate",
    );
    // n2 dials the stranger: n2 refuses the foreign server certificate.
    assert(n2.transport.send(timeoutNow("n2", "n1", 1)));
    await waitFor(() => n2.peerDown.length > 0, "n2 refusing the foreign server");
    assert(n2.peerDown[0]!.reason.includes("TLS handshake failed"), n2.peerDown[0]!.reason);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals([n2.received, stranger.received], [[], []]);
    assert(n2.transport.counters().framesRejected >= 1);
    console.log(`n2 refused: ${n2.rejections[0]!.reason}; n2 dialling: ${n2.peerDown[0]!.reason}`);
  } finally {
    await closeNodes([n2, stranger]);
  }
});

Deno.test("a valid certificate for n2 cannot send frames as n3, even with the secret", async () => {
  const n1 = await startTlsRecordingNode("n1", material("n1"));
  const honestN2 = await startTlsRecordingNode("n2", material("n2"));
  // Holds n2's certificate and the cluster secret (valid HMACs) but claims to be n3.
  const impostor = await startTlsRecordingNode("n3", material("n2"));
  try {
    connectAll([n1, honestN2, impostor]);
    assert(impostor.transport.send(timeoutNow("n3", "n1", 9)));
    await waitFor(
      () => n1.rejections.some((r) => r.reason.includes("certificate names n2")),
      "the impostor's frame refused",
    );
    assertEquals(n1.received, []);
    const refusals = n1.transport.counters().framesRejected;
    assert(refusals >= 1, `framesRejected = ${refusals}`);
    // The honest holder of the certificate still gets through.
    assert(honestN2.transport.send(timeoutNow("n2", "n1", 4)));
    await waitFor(() => n1.received.length === 1, "n2's own frame");
    assertEquals(n1.received, [timeoutNow("n2", "n1", 4)]);
    console.log(`refused: ${n1.rejections.find((r) => r.reason.includes("names n2"))!.reason}`);
  } finally {
    await closeNodes([n1, honestN2, impostor]);
  }
});

Deno.test("a client without a certificate, or without TLS, gets no hello", async () => {
  const n1 = await startTlsRecordingNode("n1", material("n1"));
  try {
    const port = n1.address.port;
    const socket = tls.connect({ host: LOOPBACK, port, ca: material("n1").ca });
    const received: Uint8Array[] = [];
    socket.on("data", (chunk: Uint8Array) => received.push(chunk));
    const outcome = await new Promise<string>((resolve) => {
      socket.on("error", (error: Error) => resolve(error.message));
      socket.on("close", () => resolve("closed"));
    });
    assertEquals(received, []);
    await waitFor(
      () => n1.rejections.some((r) => r.reason.startsWith("TLS handshake failed")),
      "the refusal reported",
    );
    // A plain-TCP peer speaking the frame protocol waits for a hello that never comes.
    const plain = RawClient.connect({ hostname: LOOPBACK, port });
    const plainOutcome = await plain.then(() => "got a hello", (error) => String(error));
    assert(!plainOutcome.includes("got a hello"), plainOutcome);
    console.log(`no certificate: client saw "${outcome}"; plain TCP: ${plainOutcome}`);
    assertEquals(n1.received, []);
  } finally {
    await closeNodes([n1]);
  }
});

/** Opens `count` connections that send the start of a TLS ClientHello and then stay silent. */
async function holdHalfHandshakes(port: number, count: number): Promise<Deno.TcpConn[]> {
  // A TLS record header announcing a 512-byte handshake message, and nothing after it.
  const partialHello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
  const held: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const connection = await Deno.connect({ hostname: LOOPBACK, port });
    await connection.write(partialHello);
    held.push(connection);
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

Deno.test("48 half-finished TLS handshakes held open do not keep a real peer out", async () => {
  // The handshake timeout is 30 s: a delivery well before it proves that pending handshakes
  // count against the pre-authentication limits and the oldest are closed to make room.
  const n2 = await startTlsRecordingNode("n2", material("n2"), {
    limits: { handshakeTimeoutMs: 30_000 },
  });
  const junk = await holdHalfHandshakes(n2.address.port, 48);
  const n1 = await startTlsRecordingNode("n1", material("n1"));
  try {
    connectAll([n1, n2]);
    const startedMs = performance.now();
    assert(n1.transport.send(timeoutNow("n1", "n2", 1)));
    await waitFor(() => n2.received.length === 1, "delivery past the junk", 20_000);
    console.log(
      `real peer delivered through 48 held TLS handshakes in ` +
        `${(performance.now() - startedMs).toFixed(1)} ms`,
    );
    const closedJunk = n2.rejections.filter((r) =>
      r.reason.includes("closed an unauthenticated connection")
    );
    assert(closedJunk.length >= 44, `${closedJunk.length} junk connections closed`);
    assertEquals(n1.peerDown, []);
  } finally {
    closeAll(junk);
    await closeNodes([n1, n2]);
  }
});

Deno.test("a TLS handshake that does not finish is closed at the handshake timeout", async () => {
  const n2 = await startTlsRecordingNode("n2", material("n2"), {
    limits: { handshakeTimeoutMs: 300 },
  });
  const [junk] = await holdHalfHandshakes(n2.address.port, 1);
  try {
    const startedMs = performance.now();
    const count = await junk!.read(new Uint8Array(64)).catch(() => null);
    const elapsedMs = performance.now() - startedMs;
    assertEquals(count, null);
    assert(elapsedMs >= 250 && elapsedMs < 3_000, `closed after ${elapsedMs} ms`);
    await waitFor(() => n2.rejections.length > 0, "the timeout reported");
    assert(n2.rejections[0]!.reason.includes("TLS handshake"), n2.rejections[0]!.reason);
  } finally {
    closeAll([junk!]);
    await closeNodes([n2]);
  }
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(certificates.directory, { recursive: true });
});
