/**
 * The TLS files of `hactl init`: a cluster CA and one certificate per node, made with the
 * `openssl` command. Each node certificate names the node id and every host or IP address
 * members and clients use to reach it (subjectAltName), so that `sslmode=verify-full` and
 * HTTPS clients accept it. Private keys are written with mode 0600.
 *
 * @module
 */
import type { TemplateValues } from "../config/config_template.ts";

/** A node to certify: its id and the hosts / IP addresses it is reached by. */
export interface CertifiedNode {
  readonly id: string;
  readonly hosts: readonly string[];
}

/** The files of one node: what its `[tls]` section names. */
export interface NodeTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Validity of the CA and of node certificates, in days. */
const CA_VALIDITY_DAYS = 3650;
const NODE_VALIDITY_DAYS = 825;
const IPV4_PATTERN = /^\d{1,3}(\.\d{1,3}){3}$/;
const HOST_PATTERN = /^[A-Za-z0-9.:_-]{1,253}$/;

/** Where {@link createClusterCertificates} puts the files of node `id` under `directory`. */
export function nodeTlsFilesIn(directory: string, id: string): NodeTlsFiles {
  return {
    caFile: `${directory}/ca.crt`,
    certFile: `${directory}/${id}.crt`,
    keyFile: `${directory}/${id}.key`,
  };
}

/** The subjectAltName value naming `node`'s id and hosts (IP: entries for addresses). */
export function subjectAltNameOf(node: CertifiedNode): string {
  const names = new Set<string>([node.id, ...node.hosts]);
  for (const name of names) {
    if (!HOST_PATTERN.test(name)) {
      throw new Error(
        `cannot put "${name}" into a certificate: expected a host name or IP address`,
      );
    }
  }
  return [...names].map((name) =>
    IPV4_PATTERN.test(name) || name.includes(":") ? `IP:${name}` : `DNS:${name}`
  ).join(",");
}

/**
 * Creates `directory` (mode 0700), a cluster CA in it unless ca.crt and ca.key exist, and a
 * certificate and key for each node that has none. Returns each node's files by id. Throws
 * when `openssl` is missing or fails, with its output.
 */
export async function createClusterCertificates(
  directory: string,
  clusterName: string,
  nodes: readonly CertifiedNode[],
): Promise<Map<string, NodeTlsFiles>> {
  await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  const caKey = `${directory}/ca.key`;
  if (!await exists(`${directory}/ca.crt`) || !await exists(caKey)) {
    await openssl([
      "req",
      "-x509",
      "-new",
      "-nodes",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-keyout",
      caKey,
      "-out",
      `${directory}/ca.crt`,
      "-days",
      String(CA_VALIDITY_DAYS),
      "-subj",
      `/CN=hactl cluster CA ${clusterName}`,
    ]); // deno-fmt-ignore
    await Deno.chmod(caKey, 0o600);
  }
  const result = new Map<string, NodeTlsFiles>();
  for (const node of nodes) {
    const files = nodeTlsFilesIn(directory, node.id);
    if (!await exists(files.certFile) || !await exists(files.keyFile)) {
      await createNodeCertificate(directory, node, files);
    }
    result.set(node.id, files);
  }
  return result;
}

async function createNodeCertificate(
  directory: string,
  node: CertifiedNode,
  files: NodeTlsFiles,
): Promise<void> {
  const request = `${directory}/${node.id}.csr`;
  const extensions = `${directory}/${node.id}.ext`;
  await Deno.writeTextFile(
    extensions,
    [
      `subjectAltName = ${subjectAltNameOf(node)}`,
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      "extendedKeyUsage = serverAuth, clientAuth",
      "",
    ].join("\n"),
  );
  try {
    await openssl([
      "req",
      "-new",
      "-nodes",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-keyout",
      files.keyFile,
      "-out",
      request,
      "-subj",
      `/CN=${node.id}`,
    ]); // deno-fmt-ignore
    await Deno.chmod(files.keyFile, 0o600);
    await openssl([
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      files.caFile,
      "-CAkey",
      `${directory}/ca.key`,
      "-CAcreateserial",
      "-days",
      String(NODE_VALIDITY_DAYS),
      "-extfile",
      extensions,
      "-out",
      files.certFile,
    ]); // deno-fmt-ignore
  } finally {
    await Deno.remove(request).catch(() => {});
    await Deno.remove(extensions).catch(() => {});
  }
}

/** Runs `openssl` with `args`; throws when it cannot be run or fails, with its output. */
export async function openssl(args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    throw new Error(
      `cannot run openssl (${String(error)}): install it (apt-get install openssl), or set ` +
        `tls.ca_file, tls.cert_file and tls.key_file to certificates of your own`,
    );
  }
  if (!output.success) {
    throw new Error(
      `openssl ${args.slice(0, 2).join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The `[tls]` values of a member's config when its files will be at
 * `<configDirectory>/tls/` on its host (as {@link writeMemberTlsFiles} lays them out).
 */
export function memberTlsTemplate(configDirectory: string, id: string): TemplateValues {
  return tlsTemplateOf(nodeTlsFilesIn(`${configDirectory}/tls`, id));
}

/** The `[tls]` values of a config whose node uses `files`: TLS on, the three paths. */
export function tlsTemplateOf(files: NodeTlsFiles): TemplateValues {
  return {
    "tls.enabled": true,
    "tls.ca_file": files.caFile,
    "tls.cert_file": files.certFile,
    "tls.key_file": files.keyFile,
  };
}

/**
 * Creates the cluster CA and every member's certificate in `<outputDirectory>/tls/` (the CA
 * key stays there: keep it offline) and copies each member's CA, certificate and key to
 * `<outputDirectory>/<id>/tls/`, beside its hactl.toml. Returns the paths written per member.
 */
export async function writeMemberTlsFiles(
  outputDirectory: string,
  clusterName: string,
  members: readonly { readonly id: string; readonly host: string }[],
): Promise<string[]> {
  const created = await createClusterCertificates(
    `${outputDirectory}/tls`,
    clusterName,
    members.map((member) => ({ id: member.id, hosts: [member.host] })),
  );
  const written: string[] = [];
  for (const member of members) {
    const source = created.get(member.id)!;
    const target = nodeTlsFilesIn(`${outputDirectory}/${member.id}/tls`, member.id);
    await Deno.mkdir(`${outputDirectory}/${member.id}/tls`, { recursive: true, mode: 0o700 });
    for (
      const [from, to, mode] of [
        [source.caFile, target.caFile, 0o644],
        [source.certFile, target.certFile, 0o644],
        [source.keyFile, target.keyFile, 0o600],
      ] as const
    ) {
      await Deno.copyFile(from, to);
      await Deno.chmod(to, mode);
      written.push(to);
    }
  }
  return written;
}
