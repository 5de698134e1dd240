/**
 * `hactl init --nodes ... --output-dir DIR`: writes the config of every member at once,
 * `DIR/<node>/hactl.toml`, and one `DIR/cluster.secret` to copy to every member. Each config
 * names the paths the files will have on its own host (`--config-dir`, default /etc/hactl).
 *
 * @module
 */
import { renderConfigTemplate, type TemplateValues } from "../config/config_template.ts";
import { generateClusterSecret, writeClusterSecretFile } from "../config/cluster_secret.ts";
import { parseAgentConfig } from "../config/config_file.ts";
import { DEFAULT_RAFT_PORT } from "../config/defaults.ts";
import { memberTlsTemplate, writeMemberTlsFiles } from "./tls_files.ts";

/** One member of `--nodes "id=host,..."`. */
export interface ClusterMember {
  /** The node id. */
  readonly id: string;
  /** The address the other members and clients reach it at. */
  readonly host: string;
}

/** What {@link writeClusterConfigs} needs. */
export interface ClusterInitOptions {
  /** cluster.name. */
  readonly cluster: string;
  /** Every member, from {@link parseMemberList}. */
  readonly members: readonly ClusterMember[];
  /** Where the files are written on this machine. */
  readonly outputDirectory: string;
  /** Where the config and the secret will be on every member (cluster.secret_file's folder). */
  readonly configDirectory: string;
  /** node.data_dir on every member; default /var/lib/hactl/<node id>. */
  readonly dataDirectory: string | null;
}

/** Parses `"node1=10.0.0.1,node2=10.0.0.2"`; returns an error message for a bad list. */
export function parseMemberList(text: string): ClusterMember[] | string {
  const members: ClusterMember[] = [];
  for (const entry of text.split(",").map((item) => item.trim()).filter(Boolean)) {
    const separator = entry.indexOf("=");
    const id = entry.slice(0, separator).trim();
    const host = entry.slice(separator + 1).trim();
    if (separator <= 0 || host === "") {
      return `--nodes: "${entry}" is not "id=host"; write e.g. --nodes "node1=10.0.0.1,node2=10.0.0.2"`;
    }
    if (members.some((member) => member.id === id)) return `--nodes: node id ${id} appears twice`;
    if (members.some((member) => member.host === host)) {
      return `--nodes: address ${host} appears twice; give every member its own host`;
    }
    members.push({ id, host });
  }
  if (members.length === 0) return '--nodes is empty; write e.g. --nodes "node1=10.0.0.1"';
  return members;
}

/** The template values of `member`'s config. */
export function memberTemplate(options: ClusterInitOptions, member: ClusterMember): TemplateValues {
  const dataDirectory = options.dataDirectory ?? `/var/lib/hactl/${member.id}`;
  return {
    "node.id": member.id,
    "node.data_dir": dataDirectory,
    "cluster.name": options.cluster,
    "cluster.secret_file": `${options.configDirectory}/cluster.secret`,
    "cluster.peers": options.members
      .filter((other) => other.id !== member.id)
      .map((other) => `${other.id}=${other.host}:${DEFAULT_RAFT_PORT}`),
    "raft.advertise": `${member.host}:${DEFAULT_RAFT_PORT}`,
    "postgres.data_dir": `${dataDirectory}/pgdata`,
    "postgres.advertise_host": member.host,
    ...memberTlsTemplate(options.configDirectory, member.id),
  };
}

/**
 * Renders and validates every member's config, then writes them and a new secret. Refuses
 * (returns an error message, writing nothing) when a config would be invalid or a file exists.
 */
export async function writeClusterConfigs(options: ClusterInitOptions): Promise<string | null> {
  const rendered = options.members.map((member) => ({
    member,
    path: `${options.outputDirectory}/${member.id}/hactl.toml`,
    text: renderConfigTemplate(memberTemplate(options, member)),
  }));
  for (const { path, text } of rendered) {
    const result = parseAgentConfig(text, { fileName: path });
    if (!result.ok) return `the config for ${path} would be invalid: ${result.errors.join("; ")}`;
  }
  const secretPath = `${options.outputDirectory}/cluster.secret`;
  for (const path of [secretPath, ...rendered.map((file) => file.path)]) {
    if (await exists(path)) return `${path} exists; hactl init never overwrites a config or secret`;
  }
  await Deno.mkdir(options.outputDirectory, { recursive: true });
  await writeClusterSecretFile(secretPath, generateClusterSecret());
  for (const { path, text } of rendered) {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text, { createNew: true, mode: 0o644 });
  }
  // TLS on: a cluster CA (its key stays in DIR/tls) and each member's files in DIR/<node>/tls.
  await writeMemberTlsFiles(options.outputDirectory, options.cluster, options.members);
  console.log(
    `wrote ${rendered.map((file) => file.path).join(", ")} and ${secretPath}: copy the secret ` +
      `(mode 0600) and each node's hactl.toml and tls/ folder to ${options.configDirectory}/ on ` +
      `that node (the CA key ${options.outputDirectory}/tls/ca.key stays with you)`,
  );
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
