/**
 * A real 3-node cluster of `hactl run` processes with TLS on (the demo's CA and certificates):
 * the Raft port runs mutual TLS. Proves, against the running agents: a holder of node2's
 * certificate and key AND the cluster secret who sends a correctly signed append as node3 is
 * refused by the transport (logged with the certificate's name, counted in
 * hactl_frames_rejected_total), where in plain text such a frame reached the core; a client
 * without a certificate, and a plain-TCP client, never get a hello; the primary and term stay
 * put and no agent log shows an uncaught error.
 */
import { forgedAppend } from "./forged_messages.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import tls from "node:tls";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { readClusterSecret } from "../../src/config/cluster_secret.ts";
import { deriveFrameKey, encodeFrame, HELLO_BYTES, parseHello } from "../../src/transport/frame.ts";
import { encodeMessage } from "../../src/transport/message_codec.ts";
import { RawClient } from "../transport/transport_helpers.ts";
import { assertNoEscapedErrors } from "./hactl_process.ts";

const STARTUP_MS = 180_000;
/** Raft 25001-3, API 25101-3, Postgres 25201-3, gateway 25301-3: no other test uses them. */
const BASE_PORT = 25000;

/** Opens mutual TLS to `port` with `files` (or no certificate); resolves the bytes it got. */
function openTls(
  port: number,
  ca: string,
  identity: { cert: string; key: string } | null,
): { socket: tls.TLSSocket; firstBytes: Promise<Uint8Array | string> } {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    ca,
    ...(identity ?? {}),
    checkServerIdentity: () => undefined,
  });
  const firstBytes = new Promise<Uint8Array | string>((resolve) => {
    const chunks: Uint8Array[] = [];
    socket.on("data", (chunk: Uint8Array) => {
      chunks.push(chunk);
      const total = chunks.reduce((sum, part) => sum + part.length, 0);
      if (total >= HELLO_BYTES) resolve(new Uint8Array(chunks.flatMap((part) => [...part])));
    });
    socket.on("error", (error: Error) => resolve(error.message));
    socket.on("close", () => resolve("closed"));
  });
  return { socket, firstBytes };
}

/** Metric `name`'s value on node `id` (HTTPS with the cluster CA). */
async function metric(cluster: LocalCluster, id: string, name: string): Promise<number> {
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(cluster.caFile!)] });
  try {
    const response = await fetch(`https://127.0.0.1:${cluster.node(id).apiPort}/metrics`, {
      client,
    });
    const line = (await response.text()).split("\n").find((text) => text.startsWith(`${name} `));
    return Number(line?.split(" ")[1] ?? "NaN");
  } finally {
    client.close();
  }
}

/** node2's certificate, the secret, and a frame that says node3: refused by the transport. */
async function impostor(cluster: LocalCluster, directory: string, secret: string, term: number) {
  const ca = await Deno.readTextFile(cluster.caFile!);
  const identity = {
    cert: await Deno.readTextFile(`${directory}/tls/node2.crt`),
    key: await Deno.readTextFile(`${directory}/tls/node2.key`),
  };
  const { socket, firstBytes } = openTls(BASE_PORT + 1, ca, identity);
  try {
    const hello = await firstBytes;
    assert(hello instanceof Uint8Array, `node2's certificate got no hello: ${hello}`);
    const parsed = parseHello(hello.subarray(0, HELLO_BYTES));
    assert(parsed.ok, JSON.stringify(parsed));
    const frame = encodeFrame(
      {
        clusterId: "demo",
        senderId: "node3",
        sequence: 0,
        payload: encodeMessage(forgedAppend("node3", "node1", term)),
      },
      deriveFrameKey(secret),
      parsed.challenge,
    );
    socket.write(frame);
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    socket.destroy();
  }
}

Deno.test({
  name: "with TLS on, agents refuse a member's certificate speaking for another and strangers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-peer-tls-cluster-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: BASE_PORT,
      tls: true,
    });
    let failed = true;
    try {
      const primary = await cluster.startAll(STARTUP_MS);
      assertEquals(primary, "node1");
      const termBefore = (await cluster.status("node1"))!.raft.term;
      const rejectedBefore = await metric(cluster, "node1", "hactl_frames_rejected_total");
      assertEquals(await metric(cluster, "node1", "hactl_tls_enabled"), 1);
      const secret = await readClusterSecret(`${directory}/cluster.secret`);
      // Refusals are logged once per source address per 10 s (every agent is on 127.0.0.1):
      // a second attempt after that interval must be logged if the first was folded.
      for (let attempt = 0; attempt < 2; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 10_500));
        await impostor(cluster, directory, secret, termBefore + 1000);
        const log = await Deno.readTextFile(cluster.node("node1").logPath);
        if (log.includes("certificate names node2")) break;
        assert(attempt === 0, "the impostor's refusal is logged");
      }
      const rejectedAfter = await metric(cluster, "node1", "hactl_frames_rejected_total");
      assert(rejectedAfter > rejectedBefore, `${rejectedBefore} -> ${rejectedAfter}`);

      const ca = await Deno.readTextFile(cluster.caFile!);
      const anonymous = openTls(BASE_PORT + 1, ca, null);
      const anonymousGot = await anonymous.firstBytes;
      anonymous.socket.destroy();
      assert(typeof anonymousGot === "string", "a client without a certificate got a hello");
      const plain = await RawClient.connect({ hostname: "127.0.0.1", port: BASE_PORT + 1 }).then(
        (client) => (client.close(), "got a hello"),
        (error) => String(error),
      );
      assert(plain.includes("before the hello"), plain);
      console.log(
        `impostor refused (frames rejected ${rejectedBefore} -> ${rejectedAfter}); ` +
          `no certificate: ${anonymousGot}; plain TCP: ${plain}`,
      );
      for (const node of cluster.nodes) {
        const status = await cluster.status(node.id);
        assertEquals([status?.raft.term, status?.raft.leader], [termBefore, "node1"], node.id);
      }
      await assertNoEscapedErrors(cluster.nodes.map((node) => node.logPath));
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`agent logs kept in ${directory}`);
    }
  },
});
