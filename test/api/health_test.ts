/**
 * The health endpoints HAProxy relies on, with Patroni's meaning: `/` and /primary answer 200
 * only on the node that holds write authority AND runs an unfenced primary, /leader on the
 * node with write authority whatever its Postgres, /replica only on a running standby,
 * /read-only on either, /health whenever Postgres runs — in every role state, for GET, HEAD
 * and OPTIONS (HAProxy's `option httpchk`).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createApiApp } from "../../src/api/server.ts";
import { FakeAgent, observation } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

interface Case {
  readonly name: string;
  readonly setup: (agent: FakeAgent) => void;
  /** Expected status of the primary paths, /leader, /replica, /read-only, /health. */
  readonly expected: readonly [number, number, number, number, number];
}

const CASES: readonly Case[] = [
  {
    name: "leader with lease, running primary",
    setup: () => {},
    expected: [200, 200, 503, 200, 200],
  },
  {
    name: "leader without lease",
    setup: (agent) => (agent.writeAuthority = false),
    expected: [503, 503, 503, 503, 200],
  },
  {
    name: "leader whose Postgres is fenced",
    setup: (agent) => (agent.postgres = observation({ fenced: true })),
    expected: [503, 200, 503, 503, 200],
  },
  {
    name: "leader whose Postgres is still in recovery (promotion pending)",
    // Still a hot standby until promoted: reads are fine, writes are not.
    setup: (agent) => (agent.postgres = observation({ inRecovery: true })),
    expected: [503, 200, 200, 200, 200],
  },
  {
    name: "leader whose Postgres is stopped",
    setup: (agent) => (agent.postgres = observation({ status: "stopped" })),
    expected: [503, 200, 503, 503, 503],
  },
  {
    name: "follower streaming",
    setup: (agent) => agent.becomeStandby("n2"),
    expected: [503, 503, 200, 200, 200],
  },
  {
    name: "follower running a primary (deposed, not yet demoted)",
    setup: (agent) => {
      agent.becomeStandby("n2");
      agent.postgres = observation();
    },
    expected: [503, 503, 503, 503, 200],
  },
  {
    name: "follower with a stopped standby",
    setup: (agent) => {
      agent.becomeStandby("n2");
      agent.postgres = observation({ status: "stopped", inRecovery: true });
    },
    expected: [503, 503, 503, 503, 503],
  },
  {
    name: "no observation yet",
    setup: (agent) => (agent.postgres = null),
    expected: [503, 200, 503, 503, 503],
  },
];

const PATH_GROUPS = [
  ["/", "/primary", "/master", "/read-write"],
  ["/leader"],
  ["/replica"],
  ["/read-only"],
  ["/health"],
];

Deno.test("each health endpoint answers 200 only in its role state", async (t) => {
  for (const testCase of CASES) {
    await t.step(testCase.name, async () => {
      const agent = new FakeAgent();
      testCase.setup(agent);
      const app = createApiApp(agent, { tokens: TEST_TOKENS });
      for (const [index, group] of PATH_GROUPS.entries()) {
        for (const path of group) {
          for (const method of ["GET", "HEAD", "OPTIONS"]) {
            const response = await app.request(path, { method });
            const body = await response.text();
            assertEquals(response.status, testCase.expected[index], `${method} ${path}`);
            // HAProxy reads only the status line of HEAD and OPTIONS answers.
            if (method !== "GET") assertEquals(body, "", `${method} ${path} has no body`);
          }
        }
      }
    });
  }
});

Deno.test("a GET health answer is the node document with the check's reason", async () => {
  const agent = new FakeAgent().becomeStandby("n2");
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  const response = await app.request("/primary");
  assertEquals(response.status, 503);
  const body = await response.json();
  assertEquals(body.role, "replica");
  assertEquals(body.state, "running");
  assertEquals(body.patroni, { scope: "test", name: "n1" });
  assertEquals(body.hactl.leader, "n2");
  assertEquals(body.check.healthy, false);
  assertEquals(body.check.reason, "no write authority (Raft follower)");
  assertEquals(response.headers.get("cache-control"), "no-store");
});

Deno.test("GET /status is the agent's status", async () => {
  const agent = new FakeAgent();
  const response = await createApiApp(agent, { tokens: TEST_TOKENS }).request("/status");
  assertEquals(response.status, 200);
  assertEquals(await response.json(), JSON.parse(JSON.stringify(agent.status())));
});

Deno.test("an unknown path is a JSON 404", async () => {
  const response = await createApiApp(new FakeAgent(), { tokens: TEST_TOKENS }).request("/nope");
  assertEquals(response.status, 404);
  assertEquals(typeof (await response.json()).error, "string");
});
