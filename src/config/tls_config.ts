/**
 * What the `[tls]` section means for the parts that use it: the certificate files of Postgres,
 * the REST API's certificate, and the CA clients of the API trust.
 *
 * @module
 */

import type { AgentConfig } from "./config_schema.ts";

/** The CA, certificate and key files of a node with TLS on. */
export interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The node's TLS files, or null when TLS is off (or the config was built without `[tls]`). */
export function tlsFilesOf(config: Pick<AgentConfig, "tls">): TlsFiles | null {
  const tls = config.tls;
  if (tls === undefined || !tls.enabled) return null;
  if (tls.caFile === null || tls.certFile === null || tls.keyFile === null) {
    // parseAgentConfig refuses this; a config built in code must name all three files.
    throw new Error(
      "tls.enabled = true needs tls.ca_file, tls.cert_file and tls.key_file; set all three",
    );
  }
  return { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile };
}

/** What `tls.enabled` protects, as status, documents and `hactl init` name them. */
export const TLS_PROTECTED_PARTS = ["raft peer transport", "rest api", "postgres"] as const;

/**
 * The parts that run in plain text: none with TLS on, all of {@link TLS_PROTECTED_PARTS} with
 * it off (one setting covers the three).
 */
export function plainTextParts(tlsEnabled: boolean): readonly string[] {
  return tlsEnabled ? [] : TLS_PROTECTED_PARTS;
}

/** "https" with TLS on, else "http": the scheme of this node's REST API. */
export function apiSchemeOf(config: Pick<AgentConfig, "tls">): "https" | "http" {
  return tlsFilesOf(config) === null ? "http" : "https";
}
