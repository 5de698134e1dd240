/**
 * Routes of Patroni's read-only API: the health checks (GET with the node document, HEAD
 * and OPTIONS with the status code only, as HAProxy's `option httpchk` sends), the probes,
 * `/patroni`, `/cluster` and `/history`, and clear refusals for Patroni endpoints that have
 * no meaning in hactl.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle, PostgresDetails } from "../agent/agent_handle.ts";
import { HEALTH_ENDPOINTS, type HealthEndpoint } from "./health_checks.ts";
import { parseHealthQuery } from "./health_query.ts";
import { clusterDocument, historyDocument, nodeDocument } from "./node_document.ts";
import { PROBE_ENDPOINTS } from "./probes.ts";

/** Patroni endpoints hactl does not have, and why. */
export const UNSUPPORTED_PATRONI_ENDPOINTS: Readonly<Record<string, string>> = {
  "/standby-leader": "hactl has no standby clusters (a cluster that replicates another one)",
  "/standby_leader": "hactl has no standby clusters (a cluster that replicates another one)",
  "/failsafe": "hactl has no DCS to lose: the Raft majority is the failsafe (see docs/SAFETY.md)",
  "/citus": "hactl does not manage Citus clusters",
  "/mpp": "hactl does not manage Citus (MPP) clusters",
  "/sigterm": "stop the agent with a signal or `systemctl stop`, not over HTTP",
};

/** Header of every health check and probe answer: the agent's wall clock, epoch ms. */
export const AGENT_TIME_HEADER = "x-hactl-time-ms";

/** Registers the health checks, probes and read-only documents on `app`. */
export function registerHealthRoutes(
  app: Hono,
  handle: AgentHandle,
  options: { readonly primaryHoldMs: number },
): void {
  const endpoints = { ...HEALTH_ENDPOINTS, ...PROBE_ENDPOINTS };
  for (const [path, endpoint] of Object.entries(endpoints)) {
    app.on(
      ["GET", "HEAD", "OPTIONS"],
      path,
      (context) => answerCheck(context, handle, endpoint, options.primaryHoldMs),
    );
  }
  const documentRoute = (path: string, build: (context: Context) => Promise<unknown> | unknown) =>
    app.get(path, async (context) => {
      parseHealthQuery(new URL(context.req.url), []);
      context.header("cache-control", "no-store");
      return context.json(await build(context));
    });
  documentRoute(
    "/patroni",
    async () => nodeDocument(handle.status(), await handle.postgresDetails(), Date.now()),
  );
  documentRoute("/cluster", () => clusterDocument(handle.status()));
  documentRoute("/history", () => historyDocument(handle.status()));
  for (const [path, reason] of Object.entries(UNSUPPORTED_PATRONI_ENDPOINTS)) {
    app.all(path, (context) =>
      context.json({
        ok: false,
        error: `${path} is a Patroni endpoint without meaning in hactl: ${reason}; ` +
          "see docs/OPERATIONS.md for the endpoint map",
      }, 501));
  }
}

/** Runs one check: 200 or 503; GET carries the node document and the reason. */
async function answerCheck(
  context: Context,
  handle: AgentHandle,
  endpoint: HealthEndpoint,
  primaryHoldMs: number,
): Promise<Response> {
  const query = parseHealthQuery(new URL(context.req.url), endpoint.parameters);
  const method = context.req.method;
  const wantsBody = method === "GET";
  const status = handle.status();
  const details: PostgresDetails | null = wantsBody || endpoint.needsDetails(query)
    ? await handle.postgresDetails()
    : null;
  const result = endpoint.check({ status, query, details, primaryHoldMs });
  const code = result.healthy ? 200 : 503;
  context.header("cache-control", "no-store");
  // This agent's wall clock in epoch ms: `hactl doctor` compares members' clocks with it (the
  // Date header has whole seconds and is cached by the server, up to ~2 s behind).
  context.header(AGENT_TIME_HEADER, String(Date.now()));
  if (!wantsBody) return context.body(null, code);
  return context.json({
    ...nodeDocument(status, details, Date.now()),
    check: { path: context.req.path, healthy: result.healthy, reason: result.reason },
  }, code);
}
