/**
 * TLS for Postgres: the server settings (`ssl = on` with the node's certificate), the libpq
 * options of standbys, pg_basebackup and pg_rewind (`sslmode=verify-full` against the cluster
 * CA), and the copies of the certificate files Postgres reads. Without `settings.tls` every
 * function answers the plain-text behaviour hactl had before.
 *
 * @module
 */

import { ensureDirectory, ownerFor, writeFileDurably } from "./files.ts";
import { type PostgresSettings, tlsDirectoryOf } from "./settings.ts";

/** Paths of Postgres' own copies of the TLS files (see {@link installTlsFiles}). */
export interface InstalledTlsPaths {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Where {@link installTlsFiles} puts the CA, certificate and key of this node. */
export function installedTlsPaths(settings: PostgresSettings): InstalledTlsPaths {
  const directory = tlsDirectoryOf(settings);
  return {
    caFile: `${directory}/ca.crt`,
    certFile: `${directory}/server.crt`,
    keyFile: `${directory}/server.key`,
  };
}

/** True when Postgres connections of this node use TLS. */
export function tlsEnabled(settings: PostgresSettings): boolean {
  return settings.tls !== undefined && settings.tls !== null;
}

/**
 * postgresql.conf settings (name, unquoted value) for TLS: empty without TLS. TLS 1.2 is the
 * oldest protocol accepted.
 */
export function serverTlsSettings(settings: PostgresSettings): Array<[string, string]> {
  if (!tlsEnabled(settings)) return [];
  const paths = installedTlsPaths(settings);
  return [
    ["ssl", "on"],
    ["ssl_ca_file", paths.caFile],
    ["ssl_cert_file", paths.certFile],
    ["ssl_key_file", paths.keyFile],
    ["ssl_min_protocol_version", "TLSv1.2"],
  ];
}

/**
 * libpq options (key, unquoted value) for connections to another member: verify-full (the
 * peer's certificate must be signed by the cluster CA and name the host connected to) with
 * TLS; `prefer` without, as before.
 */
export function clientTlsOptions(settings: PostgresSettings): Array<[string, string]> {
  if (!tlsEnabled(settings)) return [["sslmode", "prefer"]];
  const paths = installedTlsPaths(settings);
  // The node's own certificate as the client certificate: libpq would otherwise look in
  // ~/.postgresql of whatever HOME the tool inherits (root's, unreadable to postgres).
  return [
    ["sslmode", "verify-full"],
    ["sslrootcert", paths.caFile],
    ["sslcert", paths.certFile],
    ["sslkey", paths.keyFile],
  ];
}

/** The same as {@link clientTlsOptions}, as libpq environment variables (for pg_basebackup). */
export function clientTlsEnvironment(settings: PostgresSettings): Record<string, string> {
  if (!tlsEnabled(settings)) return {};
  const paths = installedTlsPaths(settings);
  return {
    PGSSLMODE: "verify-full",
    PGSSLROOTCERT: paths.caFile,
    PGSSLCERT: paths.certFile,
    PGSSLKEY: paths.keyFile,
  };
}

/**
 * Copies the configured CA, certificate and key into the state directory, owned by the
 * Postgres OS user with mode 0600 (0644 for the certificates): Postgres refuses a key others
 * can read, and the operator's directory (e.g. /etc/hactl, root only) may be closed to it.
 * Throws naming the file that could not be read. Does nothing without TLS.
 */
export async function installTlsFiles(settings: PostgresSettings): Promise<void> {
  if (settings.tls === undefined || settings.tls === null) return;
  const owner = await ownerFor(settings.runAsUser);
  await ensureDirectory(tlsDirectoryOf(settings), { mode: 0o700, owner });
  const paths = installedTlsPaths(settings);
  const copies: Array<[string, string, number]> = [
    [settings.tls.caFile, paths.caFile, 0o644],
    [settings.tls.certFile, paths.certFile, 0o644],
    [settings.tls.keyFile, paths.keyFile, 0o600],
  ];
  for (const [source, target, mode] of copies) {
    let content: string;
    try {
      content = await Deno.readTextFile(source);
    } catch (error) {
      throw new Error(
        `cannot read the TLS file ${source}: ${String(error)}; check tls.ca_file, ` +
          `tls.cert_file and tls.key_file (hactl init creates them)`,
      );
    }
    await writeFileDurably(target, content, { mode, owner });
  }
}

/**
 * The `ssl` option of a postgres.js client connecting to another member: the peer must show a
 * certificate signed by the cluster CA naming the host (verify-full) with TLS, `prefer`
 * without.
 */
export async function postgresClientTls(
  settings: PostgresSettings,
): Promise<"prefer" | { readonly ca: string; readonly rejectUnauthorized: true }> {
  if (!tlsEnabled(settings)) return "prefer";
  return {
    ca: await Deno.readTextFile(installedTlsPaths(settings).caFile),
    rejectUnauthorized: true,
  };
}
