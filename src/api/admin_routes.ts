/**
 * The operator endpoints that change the cluster: pause/resume, membership and the key-value
 * store (switchover: switchover_routes.ts). Each needs `Authorization: Bearer <admin token>`,
 * checks its body, submits one request to the local core and maps the core's answer to HTTP:
 * 200 done, 409 refused (with the leader's API address when another node leads), 504 no
 * answer in time.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AdminRequest, Command } from "../core/mod.ts";
import type { AdminResult, AgentHandle, SubmitOptions } from "../agent/agent_handle.ts";
import { formatApiAddress } from "./api_address.ts";
import { authorize, bearer } from "./api_auth.ts";
import { keyValueCommand, readJsonObject, requiredNodeId } from "./request_body.ts";

export { authorize, bearer };

/** How long an operator request may wait for the core, in milliseconds. */
export const ADMIN_TIMEOUT_MS = 10_000;

/** An admin request before it gets its id (distributes over the union). */
export type RequestWithoutId<T = AdminRequest> = T extends unknown ? Omit<T, "requestId"> : never;

/** The JSON of a refused operator request. */
export interface RefusalBody {
  readonly ok: false;
  readonly error: string;
  /** The leader's node id, when the core named one. */
  readonly leader: string | null;
  /** The leader's API as `host:port`, so that a client can retry there. */
  readonly leaderApi: string | null;
}

/** Registers the authenticated operator endpoints on `app`. */
export function registerAdminRoutes(app: Hono, handle: AgentHandle, adminToken: string): void {
  const expected = bearer(adminToken);
  const single =
    (build: (body: Record<string, unknown>) => RequestWithoutId) => async (context: Context) => {
      authorize(context.req.header("authorization"), expected);
      const request = build(await readJsonObject(context.req.raw));
      return respond(context, handle, await submit(handle, request));
    };
  app.post("/pause", single(() => propose({ kind: "pause", paused: true })));
  app.post("/resume", single(() => propose({ kind: "pause", paused: false })));
  app.post("/kv", single((body) => propose(keyValueCommand(body))));
  // The leader adds every configured peer that is not a member, so a removal is recorded
  // first (removed/<node>) to keep the node out, and an explicit add clears that record.
  const membership = (action: "add" | "remove") => async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    const node = requiredNodeId(await readJsonObject(context.req.raw), "node");
    const record = await submit(
      handle,
      propose({ kind: "kv", key: `removed/${node}`, value: action === "remove" ? "1" : null }),
    );
    if (!record.ok) return refuse(context, handle, record);
    const change: RequestWithoutId = action === "add"
      ? { kind: "add-learner", node }
      : { kind: "remove-member", node };
    return respond(context, handle, await submit(handle, change));
  };
  app.post("/members/add", membership("add"));
  app.post("/members/remove", membership("remove"));
}

/** Gives the request an id and hands it to the core; also reports whether it timed out. */
export async function submit(
  handle: AgentHandle,
  request: RequestWithoutId,
  options: SubmitOptions = {},
): Promise<AdminResult & { timedOut: boolean }> {
  const startedMs = performance.now();
  const result = await handle.submit(
    { ...request, requestId: `api-${crypto.randomUUID()}` } as AdminRequest,
    ADMIN_TIMEOUT_MS,
    options,
  );
  // AdminResult has no timeout flag: a refusal without a leader hint that took the whole
  // timeout, or the agent's "no answer within" wording, is a timeout.
  const timedOut = !result.ok &&
    ((result.error ?? "").startsWith("no answer within") ||
      (result.leaderHint === null && performance.now() - startedMs >= ADMIN_TIMEOUT_MS));
  return { ...result, timedOut };
}

/** 200 `{ok: true}` when done, else {@link refuse}. */
export function respond(
  context: Context,
  handle: AgentHandle,
  result: AdminResult & { timedOut: boolean },
): Response {
  return result.ok ? context.json({ ok: true }) : refuse(context, handle, result);
}

/** 504 when the core did not answer in time; 409 otherwise, naming the leader's API. */
function refuse(
  context: Context,
  handle: AgentHandle,
  result: AdminResult & { timedOut: boolean },
): Response {
  const leader = handle.status().members.find((member) => member.id === result.leaderHint);
  const body: RefusalBody = {
    ok: false,
    error: result.error ?? "refused without a reason",
    leader: result.leaderHint,
    leaderApi: leader ? formatApiAddress(leader) : null,
  };
  return context.json(body, result.timedOut ? 504 : 409);
}

function propose(command: Command): RequestWithoutId {
  return { kind: "propose", command };
}
