/**
 * `POST /reinitialize` (Patroni's): replaces this node's data by a fresh clone of the leader,
 * the way out for a standby whose data an operator no longer trusts. Only a standby of a
 * known leader is re-cloned; the primary is refused (its data is the cluster's only writable
 * copy). The clone runs in the background, into a new directory that is swapped in only once
 * it completed; the answer (202) comes at once, and `hactl reinit --wait` follows progress
 * through `GET /status` (`postgres.activity`).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle } from "../agent/agent_handle.ts";
import { authorize, bearer } from "./admin_routes.ts";

/** Starts a re-clone of the local data; null when started, else why it cannot be. */
export type ReinitializeLocal = () => string | null;

/** Registers `POST /reinitialize`; without `reinitialize` (no local supervisor) it answers 501. */
export function registerReinitializeRoutes(
  app: Hono,
  handle: AgentHandle,
  adminToken: string,
  reinitialize: ReinitializeLocal | undefined,
): void {
  const expected = bearer(adminToken);
  app.post("/reinitialize", (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    if (reinitialize === undefined) {
      return context.json({ ok: false, error: "this API supervises no Postgres" }, 501);
    }
    const refusal = reinitialize();
    const node = handle.status().nodeId;
    if (refusal !== null) {
      return context.json({ ok: false, error: `${node} cannot be reinitialized: ${refusal}` }, 409);
    }
    return context.json({ ok: true, reinitializing: node }, 202);
  });
}
