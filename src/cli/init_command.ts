/**
 * `hactl init`: writes a commented config file and a cluster secret for one node.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  renderConfigTemplate,
  type TemplateNotes,
  type TemplateValues,
} from "../config/config_template.ts";
import { generateClusterSecret, writeClusterSecretFile } from "../config/cluster_secret.ts";
import { parseAgentConfig } from "../config/config_file.ts";
import { DEFAULT_RAFT_PORT } from "../config/defaults.ts";
import { dirname, resolve } from "node:path";
import { UsageError } from "./usage_error.ts";
import { parseMemberList, writeClusterConfigs } from "./init_cluster.ts";
import { issueNodeTls, requireOpenssl } from "./init_node_tls.ts";
import { nodeTlsFilesIn, subjectAltNameOf, tlsTemplateOf } from "./tls_files.ts";

/** Usage text of `hactl init`. */
export const INIT_USAGE =
  `usage: hactl init --node-id ID --output FILE [--secret-file FILE] [--peers LIST]
                  [--advertise HOST] [--data-dir DIR] [--ca-dir DIR | --plain-text]

Writes a fully commented config for one node (and a new cluster secret, mode 0600, unless
--secret-file names an existing one: copy the same secret file to every member), with TLS on:
its certificate (CN = the node id, subjectAltName = --advertise) is issued from the cluster CA
in --ca-dir (default: tls/ beside the secret file), which the first node's init creates
(ca.crt, ca.key): copy both to the other hosts, like the secret, before running init there.
  --peers "node2=10.0.0.2:7401,node3=10.0.0.3:7401"   the other members
  --plain-text   no certificates: tls.enabled = false (Raft, REST API and Postgres unencrypted)

       hactl init --nodes LIST --output-dir DIR [--cluster NAME] [--config-dir DIR]
                  [--data-dir DIR]

Writes the config of every member at once, DIR/<node>/hactl.toml, one DIR/cluster.secret, a
cluster CA in DIR/tls and each member's certificate in DIR/<node>/tls: copy the secret and each
node's config and tls/ to --config-dir (default /etc/hactl) on that node.
  --nodes "node1=10.0.0.1,node2=10.0.0.2,node3=10.0.0.3"   every member and its address`;

/** The comment beside `tls.enabled = false` in a config of `hactl init --plain-text`. */
const PLAIN_TEXT_TLS_NOTE: TemplateNotes = {
  "tls.enabled": "plain text: Raft port, REST API and Postgres (hactl init --plain-text)",
};

/** Writes the config; refuses to overwrite an existing file. */
export async function initCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        "node-id": { type: "string" },
        cluster: { type: "string" },
        output: { type: "string" },
        "secret-file": { type: "string" },
        peers: { type: "string" },
        advertise: { type: "string" },
        "data-dir": { type: "string" },
        "ca-dir": { type: "string" },
        "plain-text": { type: "boolean" },
        nodes: { type: "string" },
        "output-dir": { type: "string" },
        "config-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), INIT_USAGE);
  }
  const values = parsed.values;
  if (values.help) {
    console.log(INIT_USAGE);
    return 0;
  }
  if (values.nodes !== undefined || values["output-dir"] !== undefined) {
    return await initClusterCommand(values);
  }
  return await initNodeCommand(values);
}

/** The flags of `hactl init` for one node. */
interface NodeInitFlags {
  readonly [flag: string]: string | boolean | undefined;
}

/**
 * `hactl init --node-id`: validates the config, then issues the node's certificate (creating
 * the cluster CA on the first node) unless --plain-text, then writes the secret and the config.
 */
async function initNodeCommand(values: NodeInitFlags): Promise<number> {
  const id = values["node-id"];
  const output = values.output;
  if (typeof id !== "string" || typeof output !== "string" || !id || !output) {
    throw new UsageError("--node-id and --output are required", INIT_USAGE);
  }
  const plainText = values["plain-text"] === true;
  if (plainText && values["ca-dir"] !== undefined) {
    throw new UsageError("--ca-dir makes certificates, --plain-text none: give one", INIT_USAGE);
  }
  if (await exists(output)) {
    throw new UsageError(`${output} exists; hactl init never overwrites a config`, INIT_USAGE);
  }
  const directory = output.includes("/") ? output.slice(0, output.lastIndexOf("/")) : ".";
  const secretFile = String(values["secret-file"] ?? `${directory}/cluster.secret`);
  // Certificate paths in [tls] must be absolute (Postgres reads them from its data directory).
  const caDirectory = resolve(String(values["ca-dir"] ?? `${dirname(secretFile)}/tls`));
  const advertise = String(values.advertise ?? "127.0.0.1");
  const template = nodeTemplate(values, id, secretFile, advertise);
  const tls = plainText ? { "tls.enabled": false } : tlsTemplateOf(nodeTlsFilesIn(caDirectory, id));
  const text = renderConfigTemplate({ ...template, ...tls }, plainText ? PLAIN_TEXT_TLS_NOTE : {});
  const result = parseAgentConfig(text, { fileName: output });
  if (!result.ok) {
    throw new UsageError(`the config would be invalid: ${result.errors.join("; ")}`, INIT_USAGE);
  }
  const issued = plainText ? null : await issueCertificate(caDirectory, template, id, advertise);
  if (!await exists(secretFile)) {
    await writeClusterSecretFile(secretFile, generateClusterSecret());
    console.log(`wrote a new cluster secret to ${secretFile}: copy it to every member (mode 0600)`);
  }
  await Deno.writeTextFile(output, text, { createNew: true, mode: 0o644 });
  console.log(
    `wrote ${output}; start it with: hactl run --config ${output} (add --bootstrap on the ` +
      `first node, once)`,
  );
  console.log(issued === null ? PLAIN_TEXT_MESSAGE : issued);
  return 0;
}

/** What `hactl init --plain-text` says after writing the config. */
const PLAIN_TEXT_MESSAGE =
  `TLS is off in it (--plain-text, tls.enabled = false): the Raft port, REST API and Postgres ` +
  `run in plain text. For TLS, run hactl init without --plain-text (it creates or reuses a ` +
  `cluster CA and issues this node's certificate), or write every member's config with ` +
  `hactl init --nodes, or set tls.enabled = true and tls.ca_file, tls.cert_file and ` +
  `tls.key_file to certificates of your own CA.`;

/** The template values of one node's config, TLS aside. */
function nodeTemplate(
  values: NodeInitFlags,
  id: string,
  secretFile: string,
  advertise: string,
): TemplateValues {
  const dataDir = String(values["data-dir"] ?? `/var/lib/hactl/${id}`);
  const peers = typeof values.peers === "string" ? values.peers : "";
  return {
    "node.id": id,
    "node.data_dir": dataDir,
    "cluster.name": String(values.cluster ?? "main"),
    "cluster.secret_file": secretFile,
    "cluster.peers": peers.split(",").map((peer) => peer.trim()).filter(Boolean),
    "raft.advertise": `${advertise}:${DEFAULT_RAFT_PORT}`,
    "postgres.data_dir": `${dataDir}/pgdata`,
    "postgres.advertise_host": advertise,
  };
}

/** Issues the node's certificate (and the CA on the first node); returns what to tell. */
async function issueCertificate(
  caDirectory: string,
  template: TemplateValues,
  id: string,
  advertise: string,
): Promise<string> {
  await requireOpenssl();
  const cluster = String(template["cluster.name"]);
  const { files, createdCa } = await issueNodeTls(caDirectory, cluster, { id, hosts: [advertise] });
  const node = `issued ${id}'s certificate ${files.certFile} (CN ${id}, subjectAltName ` +
    `${subjectAltNameOf({ id, hosts: [advertise] })}) and key ${files.keyFile} (mode 0600)`;
  if (!createdCa) return `TLS is on: ${node} from the cluster CA in ${caDirectory}.`;
  return `TLS is on: created the cluster CA ${files.caFile} and ${caDirectory}/ca.key (mode ` +
    `0600), ${node}.\nThis is the first node: copy ${files.caFile} and ${caDirectory}/ca.key ` +
    `to ${caDirectory}/ on every other host (like the cluster secret) before running hactl ` +
    `init there; or write every node's config on one host at once with hactl init --nodes.`;
}

async function initClusterCommand(values: {
  [key: string]: string | boolean | undefined;
}): Promise<number> {
  const { nodes, cluster } = values;
  const outputDirectory = values["output-dir"];
  const configDirectory = values["config-dir"] ?? "/etc/hactl";
  const dataDirectory = values["data-dir"] ?? null;
  if (typeof nodes !== "string" || typeof outputDirectory !== "string") {
    throw new UsageError("--nodes and --output-dir go together; give both", INIT_USAGE);
  }
  for (
    const single of [
      "node-id",
      "output",
      "peers",
      "advertise",
      "secret-file",
      "ca-dir",
      "plain-text",
    ]
  ) {
    if (values[single] !== undefined) {
      throw new UsageError(`--${single} is for one node; with --nodes leave it out`, INIT_USAGE);
    }
  }
  const members = parseMemberList(nodes);
  if (typeof members === "string") throw new UsageError(members, INIT_USAGE);
  const problem = await writeClusterConfigs({
    cluster: typeof cluster === "string" ? cluster : "main",
    members,
    outputDirectory,
    configDirectory: String(configDirectory).replace(/\/+$/, ""),
    dataDirectory: typeof dataDirectory === "string" ? dataDirectory : null,
  });
  if (problem !== null) throw new UsageError(problem, INIT_USAGE);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
