/**
 * Separate credentials on a real 3-node cluster with api.require_read_token: /status and
 * /metrics answer 401 without a token and with the raw secret, the read-only token from
 * `hactl token --read-only` reads them but cannot change anything (403), health checks stay
 * open, the CLI reads with the token it derives from --config and changes the cluster with
 * the admin token (pause and resume), and the raw secret is refused as a bearer.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertNoEscapedErrors, hactl, testHactlCommand } from "./hactl_process.ts";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { readClusterSecret } from "../../src/config/cluster_secret.ts";

async function request(
  url: string,
  token: string | null,
  method = "GET",
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    ...(method === "POST" ? { body: JSON.stringify({ key: "app/mode", value: "x" }) } : {}),
  });
  return { status: response.status, text: await response.text() };
}

Deno.test({
  name: "tokens on a real cluster: reads need the read-only token, changes the admin token",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-credentials-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 27100,
      hactlCommand: testHactlCommand,
      requireReadToken: true,
    });
    const config = cluster.node("node1").configPath;
    let failed = true;
    try {
      const primary = await cluster.startAll(180_000);
      const api = `http://127.0.0.1:${cluster.node(primary).apiPort}`;
      const secret = await readClusterSecret(`${directory}/cluster.secret`);
      const read = (await hactl(["token", "--read-only", "--config", config])).output.trim();
      const admin = (await hactl(["token", "--config", config])).output.trim();
      assert(/^hactl-read-[0-9a-f]{64}$/.test(read) && /^hactl-admin-/.test(admin), read + admin);
      for (const path of ["/status", "/metrics", "/cluster"]) {
        for (const token of [null, secret]) {
          const refused = await request(`${api}${path}`, token);
          assertEquals(refused.status, 401, `${path}: ${refused.text}`);
          assert(!refused.text.includes("node2"), `${path} leaked member ids: ${refused.text}`);
        }
        assertEquals((await request(`${api}${path}`, read)).status, 200, path);
      }
      // The health check needs no token; it answers 200 once api.primary_hold_ms (10 s after
      // the primary gained write authority, for HAProxy's sake) is over.
      await cluster.waitFor("GET /primary answers 200 without a token", async () => {
        return (await request(`${api}/primary`, null)).status === 200;
      }, 30_000);
      assertEquals((await request(`${api}/kv`, read, "POST")).status, 403);
      assertEquals((await request(`${api}/kv`, secret, "POST")).status, 401);
      const status = await hactl(["status", "--config", config]);
      assertEquals(status.code, 0, status.output);
      assert(/node2\s+standby/.test(status.output), status.output);
      for (const command of ["pause", "resume"]) {
        const answer = await hactl([command, "--config", config]);
        assertEquals(answer.code, 0, answer.output);
      }
      assertEquals((await request(`${api}/kv`, admin, "POST")).status, 200);
      await assertNoEscapedErrors(cluster.nodes.map((node) => node.logPath));
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`credentials test failed; logs kept in ${directory}`);
    }
  },
});
