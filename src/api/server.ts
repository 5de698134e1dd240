/**
 * The REST API (Hono): Patroni-style health endpoints for HAProxy, status, Prometheus
 * metrics, and operator requests authenticated with the admin token derived from the cluster
 * secret (reads too when `api.require_read_token` is on; see api_auth.ts). One error boundary
 * (`onError`) turns every failure into a JSON `{error}`; no stack trace leaves the process.
 *
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AgentHandle } from "../agent/agent_handle.ts";
import type { Logger } from "../agent/logger.ts";
import { renderMetrics } from "./metrics.ts";
import { registerAdminRoutes } from "./admin_routes.ts";
import { registerAuthorization } from "./api_auth.ts";
import type { ApiTokens } from "../config/derived_credentials.ts";
import { registerFailoverRoutes } from "./failover_routes.ts";
import { registerSwitchoverRoutes } from "./switchover_routes.ts";
import { registerConfigRoutes } from "./config_routes.ts";
import { registerWhyRoutes } from "./why_routes.ts";
import { registerReloadRoutes, type ReloadNodeFile } from "./reload_routes.ts";
import { registerRestartRoutes, type StopLocalPostgres } from "./restart_routes.ts";
import { registerReinitializeRoutes, type ReinitializeLocal } from "./reinitialize_routes.ts";
import { registerHealthRoutes } from "./health_routes.ts";
import { parseHealthQuery } from "./health_query.ts";
import { DEFAULT_PRIMARY_HOLD_MS } from "../config/defaults.ts";

export { ADMIN_TIMEOUT_MS } from "./admin_routes.ts";
export { MAX_BODY_BYTES } from "./request_body.ts";
export { isReadableStandby, isWritablePrimary } from "./health.ts";

/** What the API needs besides the agent. */
export interface ApiOptions {
  /**
   * The API tokens derived from the cluster secret (`deriveApiTokens`): changes need
   * `Authorization: Bearer <admin token>`; the secret itself is never accepted.
   */
  readonly tokens: ApiTokens;
  /** api.require_read_token: status, metrics and documents need a token (default false). */
  readonly requireReadToken?: boolean;
  /** api.primary_hold_ms (default {@link DEFAULT_PRIMARY_HOLD_MS}). */
  readonly primaryHoldMs?: number;
  /** Reads the node's config file again (POST /reload); absent when there is none. */
  readonly reloadNodeFile?: ReloadNodeFile;
  /** Stops the local postmaster for a restart (POST /restart); absent without one. */
  readonly stopLocalPostgres?: StopLocalPostgres;
  /** Starts a re-clone of the local data from the leader (POST /reinitialize). */
  readonly reinitializeLocal?: ReinitializeLocal;
  /** The agent's logger (its format, e.g. JSON); without one, failures go to stderr as text. */
  readonly log?: Logger;
}

/** Builds the Hono app serving `handle`. */
export function createApiApp(handle: AgentHandle, options: ApiOptions): Hono {
  const app = new Hono();
  registerAuthorization(app, {
    tokens: options.tokens,
    requireReadToken: options.requireReadToken ?? false,
  });
  // Read-only routes (Patroni's health checks and documents, hactl's status and metrics).
  registerHealthRoutes(app, handle, {
    primaryHoldMs: options.primaryHoldMs ?? DEFAULT_PRIMARY_HOLD_MS,
  });
  app.get("/status", (context) => {
    parseHealthQuery(new URL(context.req.url), []);
    return context.json(handle.status());
  });
  app.get("/metrics", async (context) => {
    parseHealthQuery(new URL(context.req.url), []);
    context.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    const details = await handle.postgresDetails();
    return context.body(renderMetrics(handle.status(), handle.counters(), details));
  });
  // Routes that change the cluster (authenticated): add new ones in admin_routes.ts or a
  // sibling file registered here.
  registerAdminRoutes(app, handle, options.tokens.admin);
  registerSwitchoverRoutes(app, handle, options.tokens.admin);
  registerFailoverRoutes(app, handle, options.tokens.admin);
  registerConfigRoutes(app, handle, options.tokens.admin);
  registerWhyRoutes(app, handle);
  registerReloadRoutes(app, options.tokens.admin, options.reloadNodeFile);
  registerRestartRoutes(app, handle, options.tokens.admin, options.stopLocalPostgres);
  registerReinitializeRoutes(app, handle, options.tokens.admin, options.reinitializeLocal);
  app.notFound((context) =>
    context.json({
      error: `no endpoint ${context.req.method} ${context.req.path}; read-only: GET /status, ` +
        "/patroni, /cluster, /history, /metrics and the health checks (/, /primary, /replica, " +
        "/read-only, /quorum, /async, /health, /liveness, /readiness...); see docs/OPERATIONS.md",
    }, 404)
  );
  app.onError((error, context) => {
    if (error instanceof HTTPException) {
      return context.json({ ok: false, error: error.message }, error.status);
    }
    const text = `${context.req.method} ${context.req.path} failed: ${
      error instanceof Error ? error.stack ?? error.message : String(error)
    }`;
    if (options.log) options.log.error("api", text);
    else console.error(`hactl api: ${text}`);
    return context.json({ ok: false, error: "internal error; see the agent log" }, 500);
  });
  return app;
}

/** A running API server. */
export interface ApiServer {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /**
   * Stops accepting connections and waits for open requests to finish, at most
   * {@link API_SHUTDOWN_TIMEOUT_MS}.
   */
  close(): Promise<void>;
}

/** The PEM certificate chain and key of an HTTPS API (tls.cert_file and tls.key_file). */
export interface ApiTlsPem {
  readonly cert: string;
  readonly key: string;
}

/**
 * Starts the API server on `hostname:port` (port 0: any free port); HTTPS when `tls` is
 * given, else plain HTTP.
 */
export function startApiServer(
  handle: AgentHandle,
  options: ApiOptions & { hostname: string; port: number; tls?: ApiTlsPem | null },
): ApiServer {
  const app = createApiApp(handle, options);
  const listen = { hostname: options.hostname, port: options.port, onListen: () => {} };
  const server = options.tls === undefined || options.tls === null
    ? Deno.serve(listen, app.fetch)
    : Deno.serve({ ...listen, cert: options.tls.cert, key: options.tls.key }, app.fetch);
  return { port: server.addr.port, close: () => shutdownWithin(server, API_SHUTDOWN_TIMEOUT_MS) };
}

/**
 * Longest wait for open requests when the API closes. `Deno.HttpServer.shutdown()` waits for
 * every request in flight, and a stranger that announces a huge body and never sends it keeps
 * one in flight for ever: `hactl run` then never got to stop its agent and Postgres on SIGTERM
 * (found by test/scenarios/hostile_neighbour_test.ts). Connections still open after this end
 * with the process.
 */
export const API_SHUTDOWN_TIMEOUT_MS = 2_000;

/** `server.shutdown()`, no longer waited for after `timeoutMs`. */
async function shutdownWithin(server: Deno.HttpServer, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  const shutdown = server.shutdown();
  shutdown.catch(() => {}); // a failure after the deadline has no one left to tell
  try {
    await Promise.race([shutdown, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
