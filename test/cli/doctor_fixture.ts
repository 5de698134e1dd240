/**
 * A node of a would-be cluster for `hactl doctor` tests, made of real things: a config file,
 * a cluster secret (0600), a data directory owned by the Postgres OS user, a cluster CA and
 * certificates made by openssl, and free ports on 127.0.0.1 found by binding them.
 */
import { userInfo } from "node:os";
import { createClusterCertificates, type NodeTlsFiles } from "../../src/cli/tls_files.ts";
import type { CommandOutput } from "../../src/cli/operator_options.ts";
import type { DoctorEnvironment } from "../../src/cli/doctor/doctor_environment.ts";
import { TEST_SECRET } from "../api/fake_agent.ts";

/** The ports of node1 (listen) and its peers (where the test may or may not listen). */
export interface FixturePorts {
  readonly raft: number;
  readonly api: number;
  readonly postgres: number;
  readonly gateway: number;
  readonly node2Raft: number;
  readonly node2Api: number;
  readonly node3Raft: number;
  readonly node3Api: number;
}

/** Everything a test needs to know about its node. */
export interface DoctorFixture {
  readonly directory: string;
  readonly configPath: string;
  readonly secretFile: string;
  readonly dataDir: string;
  readonly ports: FixturePorts;
  readonly tls: Map<string, NodeTlsFiles>;
  readonly environment: DoctorEnvironment;
  readonly runAsUser: string;
}

/** A port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Captures what a command prints. */
export class CapturedOutput implements CommandOutput {
  readonly lines: string[] = [];
  out(text: string): void {
    this.lines.push(text);
  }
  error(text: string): void {
    this.lines.push(text);
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

/**
 * Creates node1's files in a fresh directory; `tomlExtra` replaces whole `key = value` lines
 * by key ("tls.enabled": "false"), so a test changes one thing and keeps the rest good.
 */
export async function createDoctorFixture(
  tomlExtra: Readonly<Record<string, string>> = {},
): Promise<DoctorFixture> {
  const directory = await Deno.makeTempDir({ prefix: "hactl-doctor-" });
  await Deno.chmod(directory, 0o755);
  const runAsUser = Deno.uid() === 0 ? "postgres" : userInfo().username;
  const secretFile = `${directory}/cluster.secret`;
  await Deno.writeTextFile(secretFile, `${TEST_SECRET}\n`);
  await Deno.chmod(secretFile, 0o600);
  const dataDir = `${directory}/pgdata`;
  await Deno.mkdir(dataDir, { mode: 0o700 });
  await Deno.chmod(dataDir, 0o700);
  if (Deno.uid() === 0) {
    const ids = await userIds(runAsUser);
    await Deno.chown(secretFile, ids.uid, ids.gid);
    await Deno.chown(dataDir, ids.uid, ids.gid);
  }
  const tls = await createClusterCertificates(`${directory}/tls`, "main", [
    { id: "node1", hosts: ["127.0.0.1"] },
    { id: "node2", hosts: ["127.0.0.1"] },
  ]);
  const ports: FixturePorts = {
    raft: freePort(),
    api: freePort(),
    postgres: freePort(),
    gateway: freePort(),
    node2Raft: freePort(),
    node2Api: freePort(),
    node3Raft: freePort(),
    node3Api: freePort(),
  };
  const configPath = `${directory}/hactl.toml`;
  await Deno.writeTextFile(
    configPath,
    configText(
      { directory, secretFile, dataDir, ports, tls: tls.get("node1")!, runAsUser },
      tomlExtra,
    ),
  );
  const environment: DoctorEnvironment = {
    debianConfigRoot: `${directory}/etc-postgresql`,
    connectTimeoutMs: 500,
    clockSamples: 5,
    variables: {},
  };
  return { directory, configPath, secretFile, dataDir, ports, tls, environment, runAsUser };
}

function configText(
  node: {
    directory: string;
    secretFile: string;
    dataDir: string;
    ports: FixturePorts;
    tls: NodeTlsFiles;
    runAsUser: string;
  },
  extra: Readonly<Record<string, string>>,
): string {
  const { ports } = node;
  const sections: [string, [string, string][]][] = [
    ["node", [["id", '"node1"'], ["data_dir", `"${node.directory}/state"`]]],
    ["cluster", [
      ["name", '"main"'],
      ["secret_file", `"${node.secretFile}"`],
      [
        "peers",
        `["node2=127.0.0.1:${ports.node2Raft},api=${ports.node2Api}", ` +
        `"node3=127.0.0.1:${ports.node3Raft},api=${ports.node3Api}"]`,
      ],
    ]],
    ["raft", [["listen", `"127.0.0.1:${ports.raft}"`]]],
    ["api", [["listen", `"127.0.0.1:${ports.api}"`]]],
    ["gateway", [["listen", `"127.0.0.1:${ports.gateway}"`]]],
    ["postgres", [
      ["data_dir", `"${node.dataDir}"`],
      ["listen_address", '"127.0.0.1"'],
      ["port", String(ports.postgres)],
      ["run_as_user", `"${node.runAsUser}"`],
      ["client_networks", '["10.1.0.0/16"]'],
    ]],
    ["tls", [
      ["enabled", "true"],
      ["ca_file", `"${node.tls.caFile}"`],
      ["cert_file", `"${node.tls.certFile}"`],
      ["key_file", `"${node.tls.keyFile}"`],
    ]],
  ];
  const lines: string[] = [];
  for (const [section, keys] of sections) {
    lines.push(`[${section}]`);
    const merged = new Map(keys);
    for (const [path, value] of Object.entries(extra)) {
      const [extraSection, key] = path.split(".");
      if (extraSection === section) merged.set(key!, value);
    }
    for (const [key, value] of merged) lines.push(`${key} = ${value}`);
  }
  return `${lines.join("\n")}\n`;
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => {
    const output = await new Deno.Command("id", { args: [flag, name], stdout: "piped" }).output();
    return parseInt(new TextDecoder().decode(output.stdout).trim(), 10);
  };
  return { uid: await id("-u"), gid: await id("-g") };
}
