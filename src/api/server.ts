/**
 * The REST API (Hono): Patroni-style health endpoints for HAProxy, status, Prometheus
 * metrics, and operator requests authenticated with the cluster secret. One error boundary
 * (`onError`) turns every failure into a JSON `{error}`; no stack trace leaves the process.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AgentHandle, AgentStatus } from "../agent/agent_handle.ts";
import { renderMetrics } from "./metrics.ts";
import { registerAdminRoutes } from "./admin_routes.ts";
import {
  healthSummary,
  isPostgresRunning,
  isReadableStandby,
  isWritablePrimary,
} from "./health.ts";

export { ADMIN_TIMEOUT_MS } from "./admin_routes.ts";
export { MAX_BODY_BYTES } from "./request_body.ts";
export { isReadableStandby, isWritablePrimary } from "./health.ts";

/** Paths answering 200 only on the writable primary. */
const PRIMARY_PATHS = ["/primary", "/read-write", "/leader", "/master"];
/** Paths answering 200 only on a running standby. */
const REPLICA_PATHS = ["/replica", "/read-only"];

/** Builds the Hono app serving `handle`; changes need `Bearer <options.secret>`. */
export function createApiApp(handle: AgentHandle, options: { secret: string }): Hono {
  const app = new Hono();
  const health = (check: (status: AgentStatus) => boolean) => (context: Context) => {
    const status = handle.status();
    context.header("cache-control", "no-store");
    return context.json(healthSummary(status), check(status) ? 200 : 503);
  };
  for (const path of PRIMARY_PATHS) app.on(["GET", "HEAD"], path, health(isWritablePrimary));
  for (const path of REPLICA_PATHS) app.on(["GET", "HEAD"], path, health(isReadableStandby));
  app.on(["GET", "HEAD"], "/health", health(isPostgresRunning));
  app.get("/status", (context) => context.json(handle.status()));
  app.get("/metrics", (context) => {
    context.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return context.body(renderMetrics(handle.status(), handle.counters()));
  });
  registerAdminRoutes(app, handle, options.secret);
  app.notFound((context) =>
    context.json({
      error: `no endpoint ${context.req.method} ${context.req.path}; see GET /status, ` +
        "/primary, /replica, /health, /metrics",
    }, 404)
  );
  app.onError((error, context) => {
    if (error instanceof HTTPException) {
      return context.json({ ok: false, error: error.message }, error.status);
    }
    console.error(`hactl api: ${context.req.method} ${context.req.path} failed:`, error);
    return context.json({ ok: false, error: "internal error; see the agent log" }, 500);
  });
  return app;
}

/** A running API server. */
export interface ApiServer {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** Stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
}

/** Starts the API server on `hostname:port` (port 0: any free port). */
export function startApiServer(
  handle: AgentHandle,
  options: { hostname: string; port: number; secret: string },
): ApiServer {
  const app = createApiApp(handle, options);
  const server = Deno.serve(
    { hostname: options.hostname, port: options.port, onListen: () => {} },
    app.fetch,
  );
  return { port: server.addr.port, close: () => server.shutdown() };
}
