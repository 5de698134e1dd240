/**
 * POST /restart on a real API server: it needs the admin token, refuses the primary (a restart
 * never stops the only writable server) and a node whose Postgres is not running, and on a
 * standby stops Postgres through the node's supervisor and answers only once Postgres has
 * been seen stopped and running again.
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import { startApiServer } from "../../src/api/server.ts";
import { FakeAgent, observation } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

async function post(
  port: number,
  token = TEST_TOKENS.admin,
): Promise<{ status: number; body: { ok: boolean; error?: string; restarted?: string } }> {
  const response = await fetch(`http://127.0.0.1:${port}/restart`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("POST /restart refuses the primary and restarts a standby through its supervisor", async () => {
  const agent = new FakeAgent("n2");
  let stops = 0;
  const server = startApiServer(agent, {
    hostname: "127.0.0.1",
    port: 0,
    tokens: TEST_TOKENS,
    stopLocalPostgres: () => {
      stops++;
      // The supervisor's view: stopped now, running again a moment later.
      agent.postgres = observation({ status: "stopped", inRecovery: true });
      setTimeout(() => agent.postgres = observation({ inRecovery: true }), 300);
      return Promise.resolve(null);
    },
  });
  try {
    assertEquals((await post(server.port, "wrong".repeat(8))).status, 401);
    const primary = await post(server.port);
    assertEquals(primary.status, 409);
    assert(primary.body.error!.includes("switch over first"), primary.body.error);
    assertEquals(stops, 0, "the primary was not stopped");

    agent.postgres = observation({ status: "stopped", inRecovery: true });
    assertEquals((await post(server.port)).status, 409, "a stopped Postgres is not restarted");

    agent.becomeStandby("n1");
    const restarted = await post(server.port);
    assertEquals(restarted, { status: 200, body: { ok: true, restarted: "n2" } });
    assertEquals(stops, 1);
    assertEquals(agent.postgres?.status, "running", "the answer came after Postgres ran again");
  } finally {
    await server.close();
  }
});
