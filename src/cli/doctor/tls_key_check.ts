/**
 * Doctor's TLS private key check: the key file is readable by its owner only, parses, and
 * belongs to the node's certificate.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import type { TlsFiles } from "../../config/tls_config.ts";
import { type CheckResult, failed, messageOf, passed, warned } from "./check_result.ts";
import { formatMode, openToOthers } from "./file_mode.ts";

const CHECK = "tls key";

/** Checks tls.key_file against tls.cert_file. */
export async function checkPrivateKey(files: TlsFiles): Promise<CheckResult> {
  const path = files.keyFile;
  let info: Deno.FileInfo;
  let key: KeyObject;
  try {
    info = await Deno.stat(path);
    key = createPrivateKey(await Deno.readTextFile(path));
  } catch (error) {
    return failed(CHECK, `${path} cannot be read as a PEM private key: ${messageOf(error)}`);
  }
  const mode = info.mode ?? 0;
  // Postgres accepts a root-owned key with mode 0640 (Debian's ssl-cert group); say so.
  const rootGroupReadable = info.uid === 0 && (mode & 0o777) === 0o640;
  if (openToOthers(mode) && !rootGroupReadable) {
    return failed(
      CHECK,
      `${path} has mode ${formatMode(mode)}: other users may read the private key and ` +
        `Postgres refuses it; run chmod 600 ${path}`,
    );
  }
  const certificate = await Deno.readTextFile(files.certFile)
    .then((text) => new X509Certificate(text))
    .catch(() => null);
  if (certificate !== null && !certificate.checkPrivateKey(key)) {
    return failed(
      CHECK,
      `${path} is not the key of ${files.certFile}: use the pair hactl init wrote for this node`,
    );
  }
  if (rootGroupReadable) {
    return warned(CHECK, `${path}: owner root, mode 0640: Postgres accepts it; 0600 is safer`);
  }
  return passed(
    CHECK,
    `${path}: mode ${formatMode(mode)}, ${key.asymmetricKeyType} key of the certificate`,
  );
}
