/**
 * `POST /failover` (Patroni's, with `candidate`): an operator-ordered change of primary for
 * when the primary is not healthy. hactl fails over by itself whenever a majority is up, so
 * this is for the cases automation leaves alone: a primary that runs but is not fit (its
 * Postgres stopped or fenced under a live leader), or the operator's choice of candidate. It
 * moves the leadership (and so the primary) to `candidate` through the same lossless
 * transfer as a switchover. While the primary is healthy it is refused unless `force` is
 * true: a planned change is a switchover.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle, AgentStatus } from "../agent/agent_handle.ts";
import { authorize, bearer, respond, submit } from "./admin_routes.ts";
import { optionalNodeId, readJsonObject } from "./request_body.ts";

/** True when this node leads and its own Postgres is a running, writable, unfenced primary. */
export function leadsHealthyPrimary(status: AgentStatus): boolean {
  const observation = status.postgres.observation;
  return status.raft.role === "leader" && status.raft.writeAuthority &&
    observation?.status === "running" && !observation.inRecovery && !observation.fenced;
}

/** Registers `POST /failover` on `app` (authenticated like every change). */
export function registerFailoverRoutes(app: Hono, handle: AgentHandle, adminToken: string): void {
  const expected = bearer(adminToken);
  app.post("/failover", async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    const body = await readJsonObject(context.req.raw);
    const candidate = optionalNodeId(body, "candidate");
    const force = body.force === true;
    const status = handle.status();
    if (candidate === status.nodeId && status.raft.role === "leader") {
      return context.json({
        ok: false,
        error: `${candidate} already leads; name another member as the candidate`,
        leader: status.nodeId,
        leaderApi: null,
      }, 412);
    }
    if (leadsHealthyPrimary(status) && !force) {
      return context.json({
        ok: false,
        error: `the primary on ${status.nodeId} is healthy: use hactl switchover for a ` +
          "planned change, or fail over anyway with force (hactl failover --force)",
        leader: status.nodeId,
        leaderApi: null,
      }, 412);
    }
    // On a follower the core refuses with the leader's id: the client retries there (409).
    return respond(context, handle, await submit(handle, { kind: "transfer", target: candidate }));
  });
}
