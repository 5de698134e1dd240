/**
 * Mutual TLS for the peer transport: the certificate material, how a node id is read from a
 * certificate, and dialling a peer.
 *
 * Identity: a member's certificate names its node id as the subject common name (CN), as
 * `hactl init --nodes` issues them (`/CN=<node id>`, signed by the cluster CA). Both sides check
 * it: the dialling side refuses a server whose certificate names another node than the one it
 * meant to reach, and the accepting side refuses every frame whose sender is not the node its
 * client certificate names. The host name is not checked for the Raft port: the node id is what
 * a frame claims, and a member that moves keeps its certificate's identity.
 *
 * Deno.listenTls cannot ask for client certificates, so both sides use node:tls.
 *
 * @module
 */
import tls from "node:tls";
import type { PeerConnection } from "./connection_io.ts";
import { TlsSocketConnection } from "./tls_socket_connection.ts";
import type { PeerAddress } from "./transport_limits.ts";
import { withDeadline } from "./wakeup.ts";

/** The PEM texts a node needs for mutual TLS with its peers. */
export interface PeerTlsMaterial {
  /** The cluster CA: the only issuer a peer's certificate is accepted from. */
  readonly ca: string;
  /** This node's certificate (CN = its node id). */
  readonly cert: string;
  /** This node's private key. */
  readonly key: string;
}

/** Reads the three PEM files; throws naming the file that cannot be read. */
export async function readPeerTlsMaterial(
  files: { readonly caFile: string; readonly certFile: string; readonly keyFile: string },
): Promise<PeerTlsMaterial> {
  const read = async (path: string, setting: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(`raft transport: cannot read ${setting} ${path}: ${String(error)}`);
    }
  };
  return {
    ca: await read(files.caFile, "tls.ca_file"),
    cert: await read(files.certFile, "tls.cert_file"),
    key: await read(files.keyFile, "tls.key_file"),
  };
}

/** The node id a verified peer certificate names (its subject CN), or null when it has none. */
export function certifiedNodeId(
  certificate: { subject?: unknown } | null | undefined,
): string | null {
  const subject = certificate?.subject;
  if (typeof subject !== "object" || subject === null) return null;
  const commonName = (subject as { CN?: unknown }).CN;
  // Several CNs make the identity ambiguous: refuse rather than pick one.
  return typeof commonName === "string" && commonName !== "" ? commonName : null;
}

/**
 * Connects to `peer` at `address` and completes the TLS handshake within `timeoutMs`,
 * presenting this node's certificate and accepting only a certificate of the cluster CA that
 * names `peer`. Throws with the reason otherwise.
 */
export async function connectPeerTls(
  peer: string,
  address: PeerAddress,
  material: PeerTlsMaterial,
  timeoutMs: number,
): Promise<PeerConnection> {
  const socket = tls.connect({
    host: address.hostname,
    port: address.port,
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    minVersion: "TLSv1.2",
    checkServerIdentity: (_host, certificate) => {
      const named = certifiedNodeId(certificate);
      return named === peer ? undefined : new Error(
        `the certificate of ${peer}'s Raft port names ${named ?? "no node"} (subject CN), not ` +
          `${peer}: check cluster.peers and that its tls.cert_file is its own`,
      );
    },
  });
  const established = new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", (error: Error) => reject(error));
    socket.once("close", () => reject(new Error("connection closed during the TLS handshake")));
  });
  try {
    await withDeadline(established, timeoutMs, "connecting with TLS", () => socket.destroy());
  } catch (error) {
    socket.destroy();
    throw new Error(`TLS handshake failed: ${error instanceof Error ? error.message : error}`);
  }
  return new TlsSocketConnection(socket, { hostname: address.hostname, port: address.port });
}
