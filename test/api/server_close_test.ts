/**
 * Closing the API does not wait for ever on a stranger's request: a connection that announces
 * a 2 GiB body and then sends nothing kept `Deno.HttpServer.shutdown()` waiting without end, so
 * `hactl run` never stopped its agent and Postgres on SIGTERM (found by
 * test/scenarios/hostile_neighbour_test.ts). `close()` now returns within
 * API_SHUTDOWN_TIMEOUT_MS.
 */
import { assert } from "../postgres/assert.ts";
import { API_SHUTDOWN_TIMEOUT_MS, startApiServer } from "../../src/api/server.ts";
import { FakeAgent } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

/** Scheduling slack on a loaded machine. */
const SLACK_MS = 1_000;

Deno.test({
  name: "the API closes within API_SHUTDOWN_TIMEOUT_MS while a request body never arrives",
  // The stranger's connection is still open when close() returns: it ends with the process.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = startApiServer(new FakeAgent("n1"), {
      hostname: "127.0.0.1",
      port: 0,
      tokens: TEST_TOKENS,
    });
    const stranger = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await stranger.write(
        new TextEncoder().encode(
          "POST /kv HTTP/1.1\r\nhost: n1\r\ncontent-length: 2147483632\r\n\r\n{",
        ),
      );
      // Wait for the answer (401: no token), so the request is surely in flight.
      const answer = new Uint8Array(64);
      assert((await stranger.read(answer) ?? 0) > 0, "the API answered the stranger");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = await Promise.race([
        server.close().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), API_SHUTDOWN_TIMEOUT_MS + SLACK_MS);
        }),
      ]);
      clearTimeout(timer);
      assert(closed, `close() did not return within ${API_SHUTDOWN_TIMEOUT_MS + SLACK_MS} ms`);
    } finally {
      stranger.close();
    }
  },
});
