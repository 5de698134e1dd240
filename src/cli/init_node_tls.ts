/**
 * The TLS files of `hactl init` for one node (`--node-id`): the cluster CA in the CA folder
 * (created by the first node's init, copied to the other hosts and reused by theirs) and this
 * node's certificate, issued from it by tls_files.ts. The folder is checked before anything is
 * written, and a failed issue removes what it made: a bad CA folder is an error that loses and
 * leaves nothing.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import {
  type CertifiedNode,
  createClusterCertificates,
  type NodeTlsFiles,
  nodeTlsFilesIn,
  openssl,
} from "./tls_files.ts";

/** What {@link issueNodeTls} wrote. */
export interface NodeTlsOutcome {
  /** The CA, certificate and key the node's `[tls]` section names. */
  readonly files: NodeTlsFiles;
  /** True when this init created the cluster CA (the first node), false when it reused one. */
  readonly createdCa: boolean;
}

/** Throws an error naming both ways out (install openssl, or --plain-text) without openssl. */
export async function requireOpenssl(): Promise<void> {
  try {
    await openssl(["version"]);
  } catch {
    throw new Error(
      `the TLS certificates are made with openssl, which cannot be run here (not installed, ` +
        `or not on PATH): install openssl (apt-get install openssl) and run init again, or ` +
        `write a plain-text config (tls.enabled = false) with --plain-text`,
    );
  }
}

/**
 * Issues `node`'s certificate from the cluster CA in `directory`, creating the CA there first
 * when the folder holds none. Throws, having written nothing, when the folder holds half a CA,
 * a CA that cannot be used, or a certificate or key of this node already.
 */
export async function issueNodeTls(
  directory: string,
  clusterName: string,
  node: CertifiedNode,
): Promise<NodeTlsOutcome> {
  const createCa = await checkCaDirectory(directory, node.id);
  const files = nodeTlsFilesIn(directory, node.id);
  const made = [`${directory}/ca.srl`, files.certFile, files.keyFile];
  if (createCa) made.push(files.caFile, `${directory}/ca.key`);
  const existedBefore = new Set<string>();
  for (const path of [directory, ...made]) {
    if (await present(path)) existedBefore.add(path);
  }
  try {
    const created = await createClusterCertificates(directory, clusterName, [node]);
    return { files: created.get(node.id)!, createdCa: createCa };
  } catch (error) {
    // Undo only what this attempt made; a file that was there before stays as it was.
    for (const path of made.filter((candidate) => !existedBefore.has(candidate))) {
      await Deno.remove(path).catch(() => {});
    }
    if (!existedBefore.has(directory)) await Deno.remove(directory).catch(() => {});
    throw error;
  }
}

/**
 * Whether `directory` needs a new CA (it holds neither ca.crt nor ca.key); throws when what it
 * holds cannot be used to issue a certificate for node `id`.
 */
export async function checkCaDirectory(directory: string, id: string): Promise<boolean> {
  const files = nodeTlsFilesIn(directory, id);
  const caKeyFile = `${directory}/ca.key`;
  for (const path of [files.certFile, files.keyFile]) {
    if (await present(path)) {
      throw new Error(
        `${path} exists: hactl init never overwrites a certificate or key; to issue a new one ` +
          `for ${id}, remove ${files.certFile} and ${files.keyFile} first, or give --ca-dir ` +
          `another folder`,
      );
    }
  }
  const certificateText = await readIfPresent(files.caFile);
  const keyText = await readIfPresent(caKeyFile);
  if (certificateText === null && keyText === null) return true;
  if (certificateText === null || keyText === null) {
    const [found, missing] = certificateText === null
      ? [caKeyFile, files.caFile]
      : [files.caFile, caKeyFile];
    throw new Error(
      `${found} is there but ${missing} is not: a cluster CA needs both to issue ${id}'s ` +
        `certificate; copy ca.crt and ca.key from the host whose init created the CA into ` +
        `${directory}, or give --ca-dir an empty folder to create a new cluster CA`,
    );
  }
  checkCertificateAuthority(files.caFile, certificateText, caKeyFile, keyText);
  return false;
}

function checkCertificateAuthority(
  caFile: string,
  certificateText: string,
  caKeyFile: string,
  keyText: string,
): void {
  const fix = `copy the cluster's ca.crt and ca.key from the host whose init created them, ` +
    `or give --ca-dir an empty folder to create a new cluster CA`;
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(certificateText);
  } catch (error) {
    throw new Error(`${caFile} is not a PEM certificate (${messageOf(error)}): ${fix}`);
  }
  try {
    key = createPrivateKey(keyText);
  } catch (error) {
    throw new Error(`${caKeyFile} is not a PEM private key (${messageOf(error)}): ${fix}`);
  }
  const subject = certificate.subject.replaceAll("\n", ", ");
  if (!certificate.ca) throw new Error(`${caFile} (${subject}) is not a CA certificate: ${fix}`);
  if (Date.now() >= Date.parse(certificate.validTo)) {
    throw new Error(`${caFile} (${subject}) expired ${certificate.validTo}: ${fix}`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new Error(`${caKeyFile} is not the key of ${caFile} (${subject}): ${fix}`);
  }
}

/** The file's text; null when it does not exist; throws when it cannot be read. */
async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`cannot read ${path} (${messageOf(error)}): check its owner and mode`);
  }
}

async function present(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new Error(`cannot look at ${path} (${messageOf(error)}): check its owner and mode`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
