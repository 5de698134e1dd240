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
import { UsageError } from "./usage_error.ts";
import { parseMemberList, writeClusterConfigs } from "./init_cluster.ts";

/** Usage text of `hactl init`. */
export const INIT_USAGE =
  `usage: hactl init --node-id ID --output FILE [--secret-file FILE] [--peers LIST]
                  [--advertise HOST] [--data-dir DIR]

Writes a fully commented config for one node (and a new cluster secret, mode 0600, unless
--secret-file names an existing one: copy the same secret file to every member).
  --peers "node2=10.0.0.2:7401,node3=10.0.0.3:7401"   the other members

       hactl init --nodes LIST --output-dir DIR [--cluster NAME] [--config-dir DIR]
                  [--data-dir DIR]

Writes the config of every member at once, DIR/<node>/hactl.toml, and one DIR/cluster.secret:
copy the secret and each node's config to --config-dir (default /etc/hactl) on that node.
  --nodes "node1=10.0.0.1,node2=10.0.0.2,node3=10.0.0.3"   every member and its address`;

/** The comment beside `tls.enabled = false` in a config of `hactl init` for one node. */
const SINGLE_NODE_TLS_NOTE: TemplateNotes = {
  "tls.enabled":
    "plain text: Raft port, REST API and Postgres; hactl init --nodes makes certificates",
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
  if (!values["node-id"] || !values.output) {
    throw new UsageError("--node-id and --output are required", INIT_USAGE);
  }
  const output = values.output;
  if (await exists(output)) {
    throw new UsageError(`${output} exists; hactl init never overwrites a config`, INIT_USAGE);
  }
  const directory = output.includes("/") ? output.slice(0, output.lastIndexOf("/")) : ".";
  const secretFile = values["secret-file"] ?? `${directory}/cluster.secret`;
  if (!await exists(secretFile)) {
    await writeClusterSecretFile(secretFile, generateClusterSecret());
    console.log(`wrote a new cluster secret to ${secretFile}: copy it to every member (mode 0600)`);
  }
  const advertise = values.advertise ?? "127.0.0.1";
  const dataDir = values["data-dir"] ?? `/var/lib/hactl/${values["node-id"]}`;
  const template: TemplateValues = {
    "node.id": values["node-id"],
    "node.data_dir": dataDir,
    "cluster.name": values.cluster ?? "main",
    "cluster.secret_file": secretFile,
    "cluster.peers": values.peers
      ? values.peers.split(",").map((peer) => peer.trim()).filter(Boolean)
      : [],
    "raft.advertise": `${advertise}:7401`,
    "postgres.data_dir": `${dataDir}/pgdata`,
    "postgres.advertise_host": advertise,
    // One node's init cannot make certificates the other members share (they must come from
    // one CA), so it writes plain text, and says so in the file, on the console and in status.
    "tls.enabled": false,
  };
  await Deno.writeTextFile(output, renderConfigTemplate(template, SINGLE_NODE_TLS_NOTE), {
    createNew: true,
    mode: 0o644,
  });
  console.log(
    `wrote ${output}; start the first node with: hactl run --config ${output} --bootstrap\n` +
      `TLS is off in it (tls.enabled = false): the Raft port, REST API and Postgres run in plain ` +
      `text. For TLS, write every member's config with hactl init --nodes (it creates a cluster ` +
      `CA and certificates), or set tls.enabled = true and tls.ca_file, tls.cert_file and ` +
      `tls.key_file to certificates of your own CA.`,
  );
  return 0;
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
  for (const single of ["node-id", "output", "peers", "advertise", "secret-file"]) {
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
