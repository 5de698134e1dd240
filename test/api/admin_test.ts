/**
 * The operator endpoints: the admin token is required (401 otherwise, nothing reaches the
 * core), bodies are checked with 400s that name the field, oversized bodies are refused, each
 * endpoint submits the right request, and the core's answer maps to 200, 409 (with the
 * leader's API address) or 504.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createApiApp, MAX_BODY_BYTES } from "../../src/api/server.ts";
import { FakeAgent, member, TEST_SECRET } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

async function post(
  agent: FakeAgent,
  path: string,
  body?: unknown,
  token: string | null = TEST_TOKENS.admin,
) {
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await app.request(path, {
    method: "POST",
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

const MUTATING_PATHS = [
  "/switchover",
  "/pause",
  "/resume",
  "/members/add",
  "/members/remove",
  "/kv",
];

Deno.test("every change needs the admin token; nothing reaches the core without it", async () => {
  const agent = new FakeAgent();
  const admin = TEST_TOKENS.admin;
  const wrong = admin.slice(0, -1) + (admin.endsWith("0") ? "1" : "0");
  for (const path of MUTATING_PATHS) {
    for (const header of [null, wrong, admin.slice(1), `${admin}x`, TEST_SECRET]) {
      const answer = await post(agent, path, { node: "n4", key: "k", value: "v" }, header);
      assertEquals(answer.status, 401, `${path} with ${header}`);
      assert(answer.json().error.includes("Bearer"), answer.text);
    }
  }
  const basic = await createApiApp(agent, { tokens: TEST_TOKENS }).request("/pause", {
    method: "POST",
    headers: { authorization: `Basic ${TEST_TOKENS.admin}` },
  });
  assertEquals(basic.status, 401);
  assertEquals(agent.submitted.length, 0);
});

Deno.test("switchover submits a transfer, with or without a target", async () => {
  const agent = new FakeAgent();
  assertEquals((await post(agent, "/switchover", { target: "n2" })).status, 200);
  assertEquals((await post(agent, "/switchover")).status, 200);
  assertEquals(agent.submitted.map((request) => request.kind), ["transfer", "transfer"]);
  assertEquals(agent.submitted.map((request) => request.kind === "transfer" && request.target), [
    "n2",
    null,
  ]);
  const ids = agent.submitted.map((request) => request.requestId);
  assert(ids[0] !== ids[1] && ids.every((id) => id.length > 8), "each request gets its own id");
});

Deno.test("pause, resume, kv and membership submit the matching requests", async () => {
  const agent = new FakeAgent();
  for (
    const [path, body] of [["/pause", {}], ["/resume", {}], ["/kv", {
      key: "a",
      value: null,
    }]] as const
  ) {
    assertEquals((await post(agent, path, body)).status, 200, path);
  }
  assertEquals(agent.submitted.map((request) => request.kind === "propose" && request.command), [
    { kind: "pause", paused: true },
    { kind: "pause", paused: false },
    { kind: "kv", key: "a", value: null },
  ]);
  agent.submitted.length = 0;
  assertEquals((await post(agent, "/members/remove", { node: "n3" })).status, 200);
  assertEquals((await post(agent, "/members/add", { node: "n3" })).status, 200);
  const summary = agent.submitted.map((request) => {
    const { requestId: _, ...rest } = request;
    return rest;
  });
  // A removal is recorded first so that the leader does not re-add the node from its config.
  assertEquals(summary, [
    { kind: "propose", command: { kind: "kv", key: "removed/n3", value: "1" } },
    { kind: "remove-member", node: "n3" },
    { kind: "propose", command: { kind: "kv", key: "removed/n3", value: null } },
    { kind: "add-learner", node: "n3" },
  ]);
});

Deno.test("bad bodies get a 400 naming the field and the expected shape", async () => {
  const agent = new FakeAgent();
  const cases: [string, unknown, string][] = [
    ["/switchover", "{nope", "not JSON"],
    ["/switchover", [1, 2], "JSON object"],
    ["/switchover", { target: "no spaces allowed" }, "target: expected a node id"],
    ["/switchover", { target: 7 }, "target: expected a node id"],
    ["/members/remove", {}, "node: required"],
    ["/members/add", { node: "" }, "node: expected a node id"],
    ["/kv", { key: "", value: "x" }, "key: expected 1 to 128 characters, got 0"],
    ["/kv", { key: 7, value: "x" }, "key: expected a string"],
    ["/kv", { key: "__proto__", value: "x" }, `key: "__proto__" is reserved`],
    // A key the wire codec would refuse: accepting it once stopped the leader.
    ["/kv", { key: "a b", value: "x" }, "key: expected printable ASCII without spaces"],
    ["/kv", { key: "k\u00e9", value: "x" }, "key: expected printable ASCII without spaces"],
    ["/kv", { key: "k", value: "v".repeat(4097) }, "value: expected at most 4096 characters"],
    ["/kv", { key: "k" }, "value: expected a string"],
    ["/kv", { key: "k", value: 5 }, "value: expected a string"],
  ];
  for (const [path, body, message] of cases) {
    const answer = await post(agent, path, body);
    assertEquals(answer.status, 400, `${path} ${JSON.stringify(body)}`);
    assert(answer.json().error.includes(message), `${answer.text} should say ${message}`);
    assert(!answer.text.includes("    at "), "no stack trace");
  }
  assertEquals(agent.submitted.length, 0, "nothing reaches the core");
});

Deno.test("bodies over 64 KiB are refused before they are parsed", async () => {
  const agent = new FakeAgent();
  const padding = "x".repeat(MAX_BODY_BYTES);
  const answer = await post(agent, "/kv", { key: "k", value: padding });
  assertEquals(answer.status, 413);
  assert(answer.json().error.includes(String(MAX_BODY_BYTES)), answer.text);
  // Without a content-length the cap holds while reading the stream.
  const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 8) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const streamed = await createApiApp(agent, { tokens: TEST_TOKENS }).request("/pause", {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKENS.admin}` },
    body: stream,
    // @ts-ignore: duplex is required by fetch for stream bodies but missing from RequestInit.
    duplex: "half",
  });
  assertEquals(streamed.status, 413);
  assertEquals(agent.submitted.length, 0);
});

Deno.test("a refusal by a non-leader is a 409 with the leader's API; no answer is a 504", async () => {
  const agent = new FakeAgent("n1").becomeStandby("n2");
  agent.members = [member("n1", 8001), member("n2", 8002), member("n3", 8003)];
  const refused = await post(agent, "/switchover", { target: "n3" });
  assertEquals(refused.status, 409);
  assertEquals(refused.json().leader, "n2");
  assertEquals(refused.json().leaderApi, "127.0.0.1:8002");
  assert(refused.json().error.includes("not the leader"));

  agent.answer = { ok: false, error: "target n9 is not a member", leaderHint: null };
  const unknownTarget = await post(agent, "/switchover", { target: "n9" });
  assertEquals(unknownTarget.status, 409);
  assertEquals(unknownTarget.json().leaderApi, null);

  agent.answer = {
    ok: false,
    error: "no answer within 10000 ms; the outcome is unknown",
    leaderHint: null,
  };
  assertEquals((await post(agent, "/switchover")).status, 504);
  assertEquals(
    (await post(agent, "/members/remove", { node: "n3" })).status,
    504,
    "first step timing out stops the change",
  );
});

Deno.test("an internal failure is a 500 without a stack trace", async () => {
  const agent = new FakeAgent();
  agent.submit = () => Promise.reject(new Error("secret internal detail"));
  const original = console.error;
  console.error = () => {};
  try {
    const answer = await post(agent, "/pause", {});
    assertEquals(answer.status, 500);
    assert(!answer.text.includes("secret internal detail"), answer.text);
    assert(!answer.text.includes("    at "), answer.text);
  } finally {
    console.error = original;
  }
});
