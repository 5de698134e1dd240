/**
 * Who may do what on the REST API: changes need the admin token (the cluster secret itself
 * and the read-only token are refused, and nothing reaches the core); with
 * api.require_read_token status, metrics and documents need the read-only or admin token
 * while health checks and probes stay open; without it reads stay open as before; and
 * `hactl token` prints the tokens the agent accepts.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import { tokenCommand } from "../../src/cli/token_command.ts";
import { replicationPassword } from "../../src/agent/members.ts";
import { FakeAgent, TEST_SECRET } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

const READ_PATHS = ["/status", "/metrics", "/cluster", "/patroni", "/history", "/config", "/why"];
const OPEN_PATHS = [
  "/",
  "/primary",
  "/replica",
  "/read-only",
  "/health",
  "/liveness",
  "/readiness",
];

async function ask(
  app: ReturnType<typeof createApiApp>,
  path: string,
  token: string | null,
  method = "GET",
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = method === "POST" ? JSON.stringify({ key: "k", value: "v" }) : undefined;
  const response = await app.request(path, { method, headers, ...(body ? { body } : {}) });
  return { status: response.status, text: await response.text() };
}

Deno.test("the raw secret and the read-only token cannot change anything; the admin token can", async () => {
  const agent = new FakeAgent();
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  for (const path of ["/kv", "/pause", "/switchover", "/members/add", "/restart", "/reload"]) {
    const raw = await ask(app, path, TEST_SECRET, "POST");
    assertEquals(raw.status, 401, `${path} with the raw secret: ${raw.text}`);
    assert(raw.text.includes("cluster secret itself is not accepted"), raw.text);
    const read = await ask(app, path, TEST_TOKENS.read, "POST");
    assertEquals(read.status, 403, `${path} with the read-only token: ${read.text}`);
  }
  const patch = await app.request("/config", {
    method: "PATCH",
    headers: { authorization: `Bearer ${TEST_TOKENS.read}` },
    body: "{}",
  });
  assertEquals(patch.status, 403, await patch.text());
  assertEquals(agent.submitted.length, 0, "a refused request reached the core");
  assertEquals((await ask(app, "/kv", TEST_TOKENS.admin, "POST")).status, 200);
  assertEquals(agent.submitted.length, 1);
});

Deno.test("with api.require_read_token, reads need a token and health checks do not", async () => {
  const app = createApiApp(new FakeAgent(), { tokens: TEST_TOKENS, requireReadToken: true });
  for (const path of READ_PATHS) {
    for (const token of [null, TEST_SECRET, `${TEST_TOKENS.read}x`]) {
      const refused = await ask(app, path, token);
      assertEquals(refused.status, 401, `${path} with ${token}: ${refused.text}`);
      assert(!refused.text.includes("members"), `${path} leaked the status: ${refused.text}`);
    }
    for (const token of [TEST_TOKENS.read, TEST_TOKENS.admin]) {
      const answered = await ask(app, path, token);
      assert(answered.status !== 401 && answered.status !== 403, `${path}: ${answered.text}`);
    }
  }
  assertEquals((await ask(app, "/status", TEST_TOKENS.read)).status, 200);
  for (const path of OPEN_PATHS) {
    for (const method of ["GET", "HEAD", "OPTIONS"]) {
      const check = await ask(app, path, null, method);
      assert([200, 503].includes(check.status), `${method} ${path}: ${check.status} ${check.text}`);
    }
  }
});

Deno.test("without api.require_read_token, status and metrics stay open as before", async () => {
  const app = createApiApp(new FakeAgent(), { tokens: TEST_TOKENS });
  for (const path of ["/status", "/metrics", "/cluster"]) {
    assertEquals((await ask(app, path, null)).status, 200, path);
  }
});

Deno.test("hactl token prints the admin and the read-only token the API accepts", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-token-test-" });
  try {
    const secretFile = `${directory}/cluster.secret`;
    await Deno.writeTextFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    await Deno.chmod(secretFile, 0o600);
    const printed: string[] = [];
    const output = {
      out: (text: string) => printed.push(text),
      error: (text: string) => printed.push(text),
    };
    assertEquals(await tokenCommand(["--secret-file", secretFile], output), 0);
    assertEquals(await tokenCommand(["--secret-file", secretFile, "--read-only"], output), 0);
    assertEquals(
      await tokenCommand(["--secret-file", secretFile, "--replication-password"], output),
      0,
    );
    assertEquals(printed, [TEST_TOKENS.admin, TEST_TOKENS.read, replicationPassword(TEST_SECRET)]);
    assert(!printed.join("").includes(TEST_SECRET), "the secret was printed");
    assertEquals(await tokenCommand([], output), 2, "no secret file is a usage error");
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
