/**
 * The REST API (Hono): Patroni-style health endpoints for HAProxy, status, Prometheus
 * metrics, and operator requests authenticated with the cluster secret.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { timingSafeEqual } from "node:crypto";
import type { AdminRequest, Command } from "../core/mod.ts";
import type { AdminResult, AgentHandle, AgentStatus } from "../agent/agent_handle.ts";
import { renderMetrics } from "./metrics.ts";

/** An admin request before it gets its id (distributes over the union). */
type RequestWithoutId<T = AdminRequest> = T extends unknown ? Omit<T, "requestId"> : never;

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 64 * 1024;
/** How long an operator request may wait for the core. */
export const ADMIN_TIMEOUT_MS = 10_000;

/** True when this node is the writable primary: lease held and Postgres a running, unfenced primary. */
export function isWritablePrimary(status: AgentStatus): boolean {
  const observation = status.postgres.observation;
  return status.raft.writeAuthority && observation?.status === "running" &&
    !observation.inRecovery &&
    !observation.fenced;
}

/** True when this node's Postgres runs as a standby. */
export function isStandby(status: AgentStatus): boolean {
  const observation = status.postgres.observation;
  return observation?.status === "running" && observation.inRecovery;
}

function summary(status: AgentStatus) {
  const observation = status.postgres.observation;
  return {
    node: status.nodeId,
    role: isWritablePrimary(status)
      ? "primary"
      : isStandby(status)
      ? "standby"
      : observation?.fenced
      ? "fenced"
      : "other",
    state: observation?.status ?? "unknown",
    raft: status.raft.role,
    term: status.raft.term,
    leader: status.raft.leader,
  };
}

/** Builds the Hono app. */
export function createApiApp(handle: AgentHandle, options: { secret: string }): Hono {
  const app = new Hono();
  const health = (check: (status: AgentStatus) => boolean) => (context: Context) => {
    const status = handle.status();
    return context.json(summary(status), check(status) ? 200 : 503);
  };
  for (const path of ["/primary", "/read-write", "/leader", "/master"]) {
    app.on(["GET", "HEAD"], path, health(isWritablePrimary));
  }
  for (const path of ["/replica", "/read-only"]) app.on(["GET", "HEAD"], path, health(isStandby));
  app.on(
    ["GET", "HEAD"],
    "/health",
    health((status) => status.postgres.observation?.status === "running"),
  );
  app.get("/status", (context) => context.json(handle.status()));
  app.get("/metrics", (context) => {
    context.header("content-type", "text/plain; version=0.0.4");
    return context.body(renderMetrics(handle.status(), handle.counters()));
  });

  const admin =
    (build: (body: Record<string, unknown>) => RequestWithoutId) => async (context: Context) => {
      authorize(context.req.header("authorization"), options.secret);
      const body = await readBody(context.req.raw);
      return respond(context, handle, await submit(handle, build(body)));
    };
  app.post(
    "/switchover",
    admin((body) => ({ kind: "transfer", target: optionalNode(body, "target") })),
  );
  app.post("/pause", admin(() => propose({ kind: "pause", paused: true })));
  app.post("/resume", admin(() => propose({ kind: "pause", paused: false })));
  // The leader adds every configured peer that is not a member; a removal is recorded first
  // (removed/<node>) so that it is not re-added, and an explicit add clears that record.
  app.post("/members/add", async (context) => {
    authorize(context.req.header("authorization"), options.secret);
    const node = requiredNode(await readBody(context.req.raw), "node");
    const cleared = await submit(
      handle,
      propose({ kind: "kv", key: `removed/${node}`, value: null }),
    );
    if (!cleared.ok) return refusal(context, handle, cleared);
    return respond(context, handle, await submit(handle, { kind: "add-learner", node }));
  });
  app.post("/members/remove", async (context) => {
    authorize(context.req.header("authorization"), options.secret);
    const node = requiredNode(await readBody(context.req.raw), "node");
    const recorded = await submit(
      handle,
      propose({ kind: "kv", key: `removed/${node}`, value: "1" }),
    );
    if (!recorded.ok) return refusal(context, handle, recorded);
    return respond(context, handle, await submit(handle, { kind: "remove-member", node }));
  });
  app.post("/kv", admin((body) => propose(kvCommand(body))));

  app.notFound((context) =>
    context.json({ error: `no endpoint ${context.req.method} ${context.req.path}` }, 404)
  );
  app.onError((error, context) => {
    if (error instanceof HTTPException) return context.json({ error: error.message }, error.status);
    return context.json({ error: "internal error; see the agent log" }, 500);
  });
  return app;
}

function submit(handle: AgentHandle, request: RequestWithoutId): Promise<AdminResult> {
  return handle.submit(
    { ...request, requestId: `api-${crypto.randomUUID()}` } as AdminRequest,
    ADMIN_TIMEOUT_MS,
  );
}

function respond(context: Context, handle: AgentHandle, result: AdminResult): Response {
  return result.ok ? context.json({ ok: true }) : refusal(context, handle, result);
}

/** 409 with the leader's API address when another node leads; 504 when the core did not answer. */
function refusal(context: Context, handle: AgentHandle, result: AdminResult): Response {
  const leader = handle.status().members.find((member) => member.id === result.leaderHint);
  const leaderApi = leader ? `${leader.api.hostname}:${leader.api.port}` : null;
  const timedOut = result.error?.startsWith("no answer within") ?? false;
  return context.json(
    { ok: false, error: result.error, leader: result.leaderHint, leaderApi },
    timedOut ? 504 : 409,
  );
}

function propose(command: Command): RequestWithoutId {
  return { kind: "propose", command };
}

function authorize(header: string | undefined, secret: string): void {
  const expected = new TextEncoder().encode(`Bearer ${secret}`);
  const given = new TextEncoder().encode(header ?? "");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HTTPException(401, {
      message: "send Authorization: Bearer <cluster secret> (cluster.secret_file)",
    });
  }
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) {
    throw new HTTPException(413, { message: `body over ${MAX_BODY_BYTES} bytes` });
  }
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HTTPException(400, {
      message: 'the body is not JSON; send an object such as {"target": "node2"}',
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HTTPException(400, { message: "the body must be a JSON object" });
  }
  return value as Record<string, unknown>;
}

const NODE_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

function optionalNode(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !NODE_PATTERN.test(value)) {
    throw new HTTPException(400, {
      message: `${field}: expected a node id (letters, digits, _ and -), got ${
        JSON.stringify(value)
      }`,
    });
  }
  return value;
}

function requiredNode(body: Record<string, unknown>, field: string): string {
  const value = optionalNode(body, field);
  if (value === null) {
    throw new HTTPException(400, { message: `${field}: required, e.g. {"${field}": "node4"}` });
  }
  return value;
}

function kvCommand(body: Record<string, unknown>): Command {
  const { key, value } = body;
  if (typeof key !== "string" || key.length === 0 || key.length > 128 || key === "__proto__") {
    throw new HTTPException(400, {
      message: `key: expected a string of 1-128 characters, got ${JSON.stringify(key)}`,
    });
  }
  if (value !== null && (typeof value !== "string" || value.length > 4096)) {
    throw new HTTPException(400, {
      message: "value: expected a string of at most 4096 characters, or null to delete",
    });
  }
  return { kind: "kv", key, value };
}

/** Starts the API server; returns its port and a close function. */
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
