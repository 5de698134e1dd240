/**
 * Minimal REST API (placeholder until the full API lands): status and health endpoints.
 *
 * @module
 */
import { Hono } from "hono";
import type { AgentHandle } from "../agent/agent_handle.ts";

/** Builds the Hono app. */
export function createApiApp(handle: AgentHandle, _options: { secret: string }): Hono {
  const app = new Hono();
  app.get("/status", (context) => context.json(handle.status()));
  app.get("/primary", (context) => {
    const status = handle.status();
    const observation = status.postgres.observation;
    const primary = status.raft.writeAuthority && observation?.status === "running" &&
      !observation.inRecovery &&
      !observation.fenced;
    return context.json({ role: primary ? "primary" : "other" }, primary ? 200 : 503);
  });
  return app;
}

/** Starts the API server. */
export function startApiServer(
  handle: AgentHandle,
  options: { hostname: string; port: number; secret: string },
): { close(): Promise<void>; port: number } {
  const app = createApiApp(handle, options);
  const server = Deno.serve(
    { hostname: options.hostname, port: options.port, onListen: () => {} },
    app.fetch,
  );
  return { close: () => server.shutdown(), port: server.addr.port };
}
