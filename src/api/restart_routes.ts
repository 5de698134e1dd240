/**
 * `POST /restart` (Patroni's): restarts this node's Postgres when it is a standby. The node
 * stops its postmaster (fast shutdown) and its supervisor starts it again as a standby, as
 * after any stop; the answer comes once Postgres runs again. A primary is refused: hactl
 * restarts the primary only after a switchover has made it a standby (`hactl restart`
 * does that), so that a restart never stops the only writable server.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle } from "../agent/agent_handle.ts";
import { authorize, bearer } from "./admin_routes.ts";

/** How long a restarted standby may take to run again before the answer is 504. */
export const RESTART_TIMEOUT_MS = 60_000;
/** How often the restarted Postgres is looked at. */
const RESTART_POLL_INTERVAL_MS = 200;

/** Stops the local postmaster (the supervisor starts it again); null, or why it cannot. */
export type StopLocalPostgres = () => Promise<string | null>;

/** Registers `POST /restart`; without `stop` (no local supervisor) it answers 501. */
export function registerRestartRoutes(
  app: Hono,
  handle: AgentHandle,
  adminToken: string,
  stop: StopLocalPostgres | undefined,
): void {
  const expected = bearer(adminToken);
  app.post("/restart", async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    if (stop === undefined) {
      return context.json({ ok: false, error: "this API supervises no Postgres" }, 501);
    }
    const before = handle.status().postgres.observation;
    if (before?.status !== "running" || !before.inRecovery) {
      return context.json({
        ok: false,
        error: before?.status === "running"
          ? `${handle.status().nodeId} runs the primary: switch over first (hactl restart ` +
            "restarts the primary last, after a switchover)"
          : `Postgres on ${handle.status().nodeId} is not running (${before?.status ?? "unknown"})`,
      }, 409);
    }
    const problem = await stop();
    if (problem !== null) return context.json({ ok: false, error: problem }, 409);
    const deadline = Date.now() + RESTART_TIMEOUT_MS;
    let sawStopped = false;
    while (Date.now() < deadline) {
      const observation = handle.status().postgres.observation;
      sawStopped ||= observation?.status !== "running";
      if (sawStopped && observation?.status === "running") {
        return context.json({ ok: true, restarted: handle.status().nodeId });
      }
      await new Promise((resolve) => setTimeout(resolve, RESTART_POLL_INTERVAL_MS));
    }
    return context.json({
      ok: false,
      error: `Postgres was stopped but is not running again after ${RESTART_TIMEOUT_MS} ms`,
    }, 504);
  });
}
