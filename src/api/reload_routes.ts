/**
 * `POST /reload` (Patroni's): this node's agent reads its config file again, as on SIGHUP,
 * and answers which settings changed. Every setting of the node's file waits for a restart
 * of the agent (src/cli/config_reload.ts says why); the answer names them.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { authorize, bearer } from "./admin_routes.ts";

/** What a reload found: the changed settings, or why the file was not taken. */
export type ReloadOutcome =
  | { readonly changed: readonly string[] }
  | { readonly error: string };

/** Reads the node's file again; supplied by `hactl run`. */
export type ReloadNodeFile = () => Promise<ReloadOutcome>;

/**
 * Registers `POST /reload` (authenticated). Without `reload` (an API serving no node file,
 * as in tests) it answers 501 saying so.
 */
export function registerReloadRoutes(
  app: Hono,
  adminToken: string,
  reload: ReloadNodeFile | undefined,
): void {
  const expected = bearer(adminToken);
  app.post("/reload", async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    if (reload === undefined) {
      return context.json({ ok: false, error: "this API serves no node config file" }, 501);
    }
    const outcome = await reload();
    if ("error" in outcome) {
      return context.json({ ok: false, error: `config not reloaded: ${outcome.error}` }, 422);
    }
    return context.json({
      ok: true,
      changed: outcome.changed,
      restartNeeded: outcome.changed,
    });
  });
}
