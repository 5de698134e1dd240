/**
 * `hactl init --nodes ... --output-dir DIR`, run as a real process: it writes one config per
 * member that loads, names every other member as a peer and the member's own address, shares one
 * secret file, refuses to overwrite, and rejects a bad node list with exit code 2. The
 * single-node form (`--node-id --output`) still works beside it, with TLS on as well.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl } from "./hactl_process.ts";
import { parseAgentConfig } from "../../src/config/config_file.ts";

const NODES = "node1=10.0.0.1,node2=10.0.0.2,node3=10.0.0.3";

Deno.test("hactl init --nodes writes a loadable config per member and one secret", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-init-cluster-" });
  try {
    const output = `${directory}/configs`;
    const first = await hactl([
      "init",
      "--cluster",
      "prod",
      "--nodes",
      NODES,
      "--output-dir",
      output,
    ]);
    assertEquals(first.code, 0, first.output);
    assertEquals((await Deno.stat(`${output}/cluster.secret`)).mode! & 0o777, 0o600);
    for (const [index, id] of ["node1", "node2", "node3"].entries()) {
      const path = `${output}/${id}/hactl.toml`;
      const result = parseAgentConfig(await Deno.readTextFile(path), { fileName: path });
      assert(result.ok, `${path} does not load: ${JSON.stringify(result)}`);
      const config = result.config;
      assertEquals(config.node.id, id);
      assertEquals(config.cluster.name, "prod");
      assertEquals(config.cluster.secretFile, "/etc/hactl/cluster.secret");
      assertEquals(config.postgres.advertiseHost, `10.0.0.${index + 1}`);
      const peerIds = config.cluster.peers.map((peer) => peer.id).sort();
      assertEquals(peerIds, ["node1", "node2", "node3"].filter((other) => other !== id));
    }
    const again = await hactl(["init", "--nodes", NODES, "--output-dir", output]);
    assertEquals(again.code, 2, again.output);
    assert(again.output.includes("never overwrites"), again.output);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("hactl init refuses bad node lists and mixed flags; the one-node form still works", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-init-cluster-" });
  try {
    const output = `${directory}/configs`;
    const cases: [string[], string][] = [
      [["--nodes", "node1=10.0.0.1,node1=10.0.0.2"], "node id node1 appears twice"],
      [["--nodes", "node1=10.0.0.1,node2=10.0.0.1"], "address 10.0.0.1 appears twice"],
      [["--nodes", "node1"], 'is not "id=host"'],
      [["--nodes", "node1=10.0.0.1", "--node-id", "node1"], "--node-id is for one node"],
      [["--nodes", "node1=10.0.0.1", "--plain-text"], "--plain-text is for one node"],
      [["--nodes", "bad id=10.0.0.1"], "would be invalid"],
    ];
    for (const [flags, message] of cases) {
      const result = await hactl(["init", ...flags, "--output-dir", output]);
      assertEquals(result.code, 2, result.output);
      assert(result.output.includes(message), `${flags.join(" ")}: ${result.output}`);
    }
    await Deno.stat(output).then(
      () => assert(false, "a refused init wrote files"),
      () => {},
    );
    const single = await hactl(["init", "--node-id", "node1", "--output", `${directory}/one.toml`]);
    assertEquals(single.code, 0, single.output);
    const text = await Deno.readTextFile(`${directory}/one.toml`);
    assert(text.includes('id = "node1"'));
    assert(text.includes(`\nenabled = true\n`), "the one-node form is TLS by default too");
    await Deno.stat(`${directory}/tls/node1.crt`);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
