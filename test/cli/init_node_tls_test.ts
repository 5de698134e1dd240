/**
 * `hactl init --node-id` is TLS by default (real processes, real openssl, real files): the
 * first node's init creates the cluster CA, a second init sharing the CA folder reuses it, both
 * configs load with `[tls]` on, and both certificates verify against the one CA (openssl verify)
 * with the node id as CN and the advertised host in subjectAltName. `--plain-text` writes the
 * explicit plain-text config; without it and without openssl init fails naming both ways out;
 * a CA folder that cannot be used is a clear error that changes and leaves no file.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl, testHactlCommand } from "../cluster/hactl_process.ts";
import { loadAgentConfig, parseAgentConfig } from "../../src/config/config_file.ts";
import { tlsFilesOf } from "../../src/config/tls_config.ts";

/** Runs `openssl ARGS`; its exit code and output. */
async function openssl(args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/** Every file under `directory` (recursively) with its bytes, for "nothing changed" checks. */
async function snapshot(directory: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) {
      for (const [inner, bytes] of await snapshot(path)) files.set(inner, bytes);
    } else {
      files.set(path, (await Deno.readFile(path)).join(","));
    }
  }
  return files;
}

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("two one-node inits sharing a CA folder: one CA, two verified certificates, configs with TLS on", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-init-node-tls-" });
  try {
    await Deno.mkdir(`${directory}/host1`);
    await Deno.mkdir(`${directory}/host2`);
    const first = await hactl([
      ...["init", "--node-id", "node1", "--output", `${directory}/host1/hactl.toml`],
      ...["--advertise", "10.0.0.1", "--peers", "node2=db2.example:7401"],
    ]);
    assertEquals(first.code, 0, first.output);
    const caDirectory = `${directory}/host1/tls`; // the default: tls/ beside the secret
    assert(first.output.includes("created the cluster CA"), first.output);
    assert(first.output.includes(`copy ${caDirectory}/ca.crt and ${caDirectory}/ca.key`));
    assert(first.output.includes("hactl init --nodes"), first.output);
    assertEquals(await modeOf(`${caDirectory}/ca.key`), 0o600);
    const caBefore = await Deno.readTextFile(`${caDirectory}/ca.crt`);
    const second = await hactl([
      ...["init", "--node-id", "node2", "--output", `${directory}/host2/hactl.toml`],
      ...["--advertise", "db2.example", "--ca-dir", caDirectory],
      ...["--secret-file", `${directory}/host1/cluster.secret`],
    ]);
    assertEquals(second.code, 0, second.output);
    assert(!second.output.includes("created the cluster CA"), second.output);
    assert(second.output.includes(`from the cluster CA in ${caDirectory}`), second.output);
    assertEquals(await Deno.readTextFile(`${caDirectory}/ca.crt`), caBefore, "CA reused");
    for (
      const [id, host, name] of [
        ["node1", "host1", "IP Address:10.0.0.1"],
        ["node2", "host2", "DNS:db2.example"],
      ] as const
    ) {
      const config = await loadAgentConfig(`${directory}/${host}/hactl.toml`);
      const files = tlsFilesOf(config);
      assert(files !== null, `${id}: TLS is on`);
      assertEquals(files, {
        caFile: `${caDirectory}/ca.crt`,
        certFile: `${caDirectory}/${id}.crt`,
        keyFile: `${caDirectory}/${id}.key`,
      });
      assertEquals(await modeOf(files.keyFile), 0o600);
      const verify = await openssl(["verify", "-CAfile", files.caFile, files.certFile]);
      assertEquals(verify.code, 0, verify.output);
      const shown = await openssl([
        "x509",
        "-in",
        files.certFile,
        "-noout",
        "-subject",
        "-ext",
        "subjectAltName",
      ]);
      assert(shown.output.includes(`subject=CN = ${id}`), shown.output);
      assert(shown.output.includes(name), shown.output);
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("hactl init --plain-text writes the explicit plain-text config and no certificates", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-init-node-tls-" });
  try {
    const result = await hactl([
      "init",
      "--node-id",
      "node1",
      "--output",
      `${directory}/hactl.toml`,
      "--plain-text",
    ]);
    assertEquals(result.code, 0, result.output);
    assert(result.output.includes("TLS is off"), result.output);
    const text = await Deno.readTextFile(`${directory}/hactl.toml`);
    const line = text.split("\n").find((candidate) => candidate.startsWith("enabled ="));
    assert(
      line?.startsWith("enabled = false  # plain text: Raft port, REST API and Postgres"),
      line,
    );
    const parsed = parseAgentConfig(text, { fileName: "hactl.toml" });
    assert(parsed.ok, JSON.stringify(parsed));
    assertEquals(tlsFilesOf(parsed.config), null);
    assertEquals([...(await snapshot(directory)).keys()].sort(), [
      `${directory}/cluster.secret`,
      `${directory}/hactl.toml`,
    ]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("hactl init without openssl fails naming both ways out; --plain-text still works", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-init-node-tls-" });
  try {
    const run = async (extra: string[]) => {
      const [program, ...args] = testHactlCommand([
        "init",
        "--node-id",
        "node1",
        "--output",
        `${directory}/hactl.toml`,
        ...extra,
      ]);
      // An empty PATH: no openssl to find (deno itself is started by its full path).
      const result = await new Deno.Command(program!, {
        args,
        env: { PATH: directory },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: result.code,
        output: new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout),
      };
    };
    const refused = await run([]);
    assert(refused.code !== 0, refused.output);
    assert(refused.output.includes("install openssl"), refused.output);
    assert(refused.output.includes("--plain-text"), refused.output);
    assertEquals((await snapshot(directory)).size, 0, "a refused init writes nothing");
    const plain = await run(["--plain-text"]);
    assertEquals(plain.code, 0, plain.output);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("a CA folder that cannot be used is a clear error that changes and leaves nothing", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-init-node-tls-" });
  try {
    const good = `${directory}/good`;
    const made = await hactl([
      "init",
      "--node-id",
      "node1",
      "--output",
      `${directory}/hactl.toml`,
      "--ca-dir",
      good,
    ]);
    assertEquals(made.code, 0, made.output);
    const cases: [string, (folder: string) => Promise<void>, string][] = [
      ["garbage ca.crt", async (folder) => {
        await Deno.writeTextFile(`${folder}/ca.crt`, "not a certificate\n");
        await Deno.copyFile(`${good}/ca.key`, `${folder}/ca.key`);
      }, "ca.crt is not a PEM certificate"],
      ["unreadable ca.crt", async (folder) => {
        await Deno.mkdir(`${folder}/ca.crt`); // even root cannot read a directory as a file
        await Deno.copyFile(`${good}/ca.key`, `${folder}/ca.key`);
      }, "cannot read"],
      ["ca.crt without ca.key", async (folder) => {
        await Deno.copyFile(`${good}/ca.crt`, `${folder}/ca.crt`);
      }, "ca.key is not"],
      ["a key that is not the CA's", async (folder) => {
        await Deno.copyFile(`${good}/ca.crt`, `${folder}/ca.crt`);
        await Deno.copyFile(`${good}/node1.key`, `${folder}/ca.key`);
      }, "ca.key is not the key of"],
      ["a node certificate that exists", async (folder) => {
        await Deno.copyFile(`${good}/ca.crt`, `${folder}/ca.crt`);
        await Deno.copyFile(`${good}/ca.key`, `${folder}/ca.key`);
        await Deno.copyFile(`${good}/node1.crt`, `${folder}/node2.crt`);
      }, "never overwrites a certificate"],
    ];
    for (const [name, prepare, message] of cases) {
      const host = `${directory}/${name.replaceAll(" ", "-").replaceAll("'", "")}`;
      await Deno.mkdir(`${host}/tls`, { recursive: true });
      await prepare(`${host}/tls`);
      const before = await snapshot(host);
      const result = await hactl(["init", "--node-id", "node2", "--output", `${host}/hactl.toml`]);
      assert(result.code !== 0, `${name}: ${result.output}`);
      assert(result.output.includes(message), `${name}: ${result.output}`);
      assert(result.output.includes(`${host}/tls/`), `${name}: names the file: ${result.output}`);
      assertEquals(await snapshot(host), before, `${name}: no file changed or left behind`);
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
