/**
 * `GET /why`: why this node is or is not the primary, why no failover happens, and the last
 * decisions (src/agent/why.ts). Read-only, like `/status`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle } from "../agent/agent_handle.ts";

/** Registers `GET /why`; an agent that cannot explain itself answers 501. */
export function registerWhyRoutes(app: Hono, handle: AgentHandle): void {
  app.get("/why", (context: Context) => {
    if (handle.why === undefined) {
      return context.json({ error: "this API serves no agent that records its decisions" }, 501);
    }
    return context.json(handle.why());
  });
}
