/**
 * `/switchover`, Patroni's: `POST` moves the primary now (`{"target"}`, or Patroni's
 * `{"candidate"}`), or, with `scheduled_at` (ISO 8601 with an offset), records a scheduled
 * switchover in the Raft log and answers 202; the leader's agent carries it out at that time
 * (src/agent/switchover_scheduler.ts). `DELETE` cancels the pending one; `GET` shows it and
 * what became of the last one. Changes are authenticated and made on the leader (elsewhere:
 * 409 naming the leader's API, which the CLI follows).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle, AgentStatus } from "../agent/agent_handle.ts";
import { failoverTagBlocker } from "../core/cluster_config.ts";
import {
  describeSchedule,
  outcomeCommand,
  readScheduledSwitchover,
  readSwitchoverOutcome,
  scheduleCommand,
  SCHEDULED_SWITCHOVER_KEY,
  type ScheduledSwitchover,
  scheduleTimeMs,
  unscheduleCommand,
} from "../agent/scheduled_switchover.ts";
import { SCHEDULE_CHANGES } from "../agent/schedule_changes.ts";
import { authorize, bearer, respond, submit } from "./admin_routes.ts";
import { optionalNodeId, readJsonObject } from "./request_body.ts";

/** How an operator cancels a pending schedule, for refusals. */
const HOW_TO_CANCEL = "cancel it first: hactl switchover --cancel (DELETE /switchover)";

/** Registers `GET`, `POST` and `DELETE /switchover`. */
export function registerSwitchoverRoutes(app: Hono, handle: AgentHandle, adminToken: string): void {
  const expected = bearer(adminToken);
  // One schedule change at a time (with the agent's start of a run, too): two concurrent
  // POSTs could otherwise both see no pending schedule and both record one.
  const serialized = (work: () => Promise<Response>) => SCHEDULE_CHANGES.run(work);
  app.get("/switchover", (context: Context) => {
    const keyValues = handle.status().cluster.keyValues;
    return context.json({
      scheduled: readScheduledSwitchover(keyValues),
      last: readSwitchoverOutcome(keyValues),
    });
  });
  app.post("/switchover", async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    const body = await readJsonObject(context.req.raw);
    const candidate = optionalNodeId(body, "target") ?? optionalNodeId(body, "candidate");
    if (body.scheduled_at === undefined || body.scheduled_at === null) {
      return respond(
        context,
        handle,
        // Refused, not tried, when the target does not stream from the primary: trying would
        // stop writes until the transfer timed out (agent.ts, `submit`).
        await submit(handle, { kind: "transfer", target: candidate }, {
          refuseUnconnectedTarget: true,
        }),
      );
    }
    if (typeof body.scheduled_at !== "string") {
      return refusal(context, 400, "scheduled_at: expected an ISO 8601 time with a zone");
    }
    const leader = optionalNodeId(body, "leader");
    const at = body.scheduled_at;
    return await serialized(() => schedule(context, handle, { at, candidate, leader }));
  });
  app.delete("/switchover", (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    return serialized(() => cancel(context, handle));
  });
}

/** Checks and records a scheduled switchover; 202 with what was scheduled. */
async function schedule(
  context: Context,
  handle: AgentHandle,
  request: { at: string; candidate: string | null; leader: string | null },
): Promise<Response> {
  const status = handle.status();
  const atMs = scheduleTimeMs(request.at, Date.now());
  if (typeof atMs === "string") return refusal(context, 400, `scheduled_at: ${atMs}`);
  if (status.raft.role !== "leader") return notTheLeader(context, handle, status);
  const pending = readScheduledSwitchover(status.cluster.keyValues);
  if (pending !== null) {
    return refusal(context, 409, `a ${describeSchedule(pending)} is pending; ${HOW_TO_CANCEL}`);
  }
  const problem = candidateProblem(status, request.candidate, request.leader);
  if (problem !== null) return refusal(context, 412, problem);
  const scheduled: ScheduledSwitchover = {
    at: request.at,
    from: status.nodeId,
    candidate: request.candidate,
    scheduledAtIso: new Date().toISOString(),
  };
  const result = await submit(handle, { kind: "propose", command: scheduleCommand(scheduled) });
  if (!result.ok) return respond(context, handle, result);
  return context.json({ ok: true, scheduled, message: describeSchedule(scheduled) }, 202);
}

/** Why the schedule cannot name `candidate` (the checks a transfer makes), or null. */
function candidateProblem(
  status: AgentStatus,
  candidate: string | null,
  leader: string | null,
): string | null {
  if (leader !== null && leader !== status.nodeId) {
    return `leader: ${leader} is not the leader, ${status.nodeId} is`;
  }
  const others = status.raft.voters.filter((voter) => voter !== status.nodeId);
  if (candidate === null) {
    return others.length > 0 ? null : `${status.nodeId} is the only voter: nothing to switch to`;
  }
  if (candidate === status.nodeId) {
    return `${candidate} already leads; name another member as the candidate`;
  }
  if (!others.includes(candidate)) {
    return `${candidate} is not a voter (voters: ${status.raft.voters.join(", ")})`;
  }
  const tagged = failoverTagBlocker({ keyValues: status.cluster.keyValues }, candidate);
  return tagged === null ? null : `${candidate} may not lead: ${tagged}`;
}

/** Removes the pending schedule (recording it as cancelled); 404 when there is none. */
async function cancel(context: Context, handle: AgentHandle): Promise<Response> {
  const status = handle.status();
  if (status.raft.role !== "leader") return notTheLeader(context, handle, status);
  const pending = readScheduledSwitchover(status.cluster.keyValues);
  if (pending === null && status.cluster.keyValues[SCHEDULED_SWITCHOVER_KEY] === undefined) {
    return refusal(
      context,
      404,
      "no switchover is scheduled (one that just reached its time has started: see GET /switchover)",
    );
  }
  const removed = await submit(handle, { kind: "propose", command: unscheduleCommand() });
  if (!removed.ok) return respond(context, handle, removed);
  if (pending !== null) {
    // The event entry; the schedule is gone already, so a failure here changes nothing.
    await submit(handle, {
      kind: "propose",
      command: outcomeCommand({
        schedule: pending,
        outcome: "cancelled",
        reason: "cancelled by the operator (DELETE /switchover)",
        atIso: new Date().toISOString(),
        by: status.nodeId,
      }),
    });
  }
  return context.json({ ok: true, cancelled: pending });
}

/** 409 naming the leader, so that the client asks it (the schedule's `from` is the leader). */
function notTheLeader(context: Context, handle: AgentHandle, status: AgentStatus): Response {
  const where = status.raft.leader === null
    ? "no leader is known yet; retry shortly"
    : `the leader is ${status.raft.leader}`;
  return respond(context, handle, {
    ok: false,
    error: `${status.nodeId} is not the leader: ${where}`,
    leaderHint: status.raft.leader,
    timedOut: false,
  });
}

function refusal(context: Context, code: 400 | 404 | 409 | 412, error: string): Response {
  return context.json({ ok: false, error, leader: null, leaderApi: null }, code);
}
