/**
 * `GET /config` (the cluster configuration as JSON, Patroni's), `PATCH /config` (a JSON
 * merge patch: null removes a setting) and `PUT /config` (the whole document: settings it
 * leaves out are removed); both authenticated. Every setting of a change is checked before
 * any is proposed; then each is recorded in the Raft log in order, through the leader
 * (elsewhere: 409 naming the leader's API). A refusal midway names what was applied.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle } from "../agent/agent_handle.ts";
import {
  clusterConfigDocument,
  flatSettings,
  type Setting,
  settingCommand,
  settingsOfPatch,
} from "../config/cluster_settings.ts";
import type { Command } from "../core/types.ts";
import { authorize, bearer, respond, submit } from "./admin_routes.ts";
import { readJsonObject } from "./request_body.ts";

/** Registers `GET`, `PATCH` and `PUT /config`. */
export function registerConfigRoutes(app: Hono, handle: AgentHandle, adminToken: string): void {
  const expected = bearer(adminToken);
  app.get("/config", (context: Context) => {
    return context.json(clusterConfigDocument(handle.status().cluster));
  });
  const change = (replace: boolean) => async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    const settings = settingsOfPatch(await readJsonObject(context.req.raw));
    if (typeof settings === "string") return context.json({ ok: false, error: settings }, 400);
    if (replace) {
      const given = new Set(settings.map((setting) => setting.key));
      for (const current of flatSettings(handle.status().cluster)) {
        if (!given.has(current.key)) settings.push({ key: current.key, value: null });
      }
    }
    return await record(context, handle, settings);
  };
  app.patch("/config", change(false));
  app.put("/config", change(true));
}

/** Checks every setting, then proposes them one by one; answers the new document. */
async function record(
  context: Context,
  handle: AgentHandle,
  settings: readonly Setting[],
): Promise<Response> {
  const commands: Array<{ key: string; command: Command }> = [];
  const problems: string[] = [];
  for (const setting of settings) {
    const command = settingCommand(setting);
    if (typeof command === "string") problems.push(command);
    else commands.push({ key: setting.key, command });
  }
  if (problems.length > 0) {
    return context.json({ ok: false, error: `config not changed: ${problems.join("; ")}` }, 400);
  }
  const applied: string[] = [];
  for (const { key, command } of commands) {
    const result = await submit(handle, { kind: "propose", command });
    if (!result.ok) {
      const before = applied.length > 0 ? ` (applied before it: ${applied.join(", ")})` : "";
      return respond(context, handle, { ...result, error: `${key}: ${result.error}${before}` });
    }
    applied.push(key);
  }
  return context.json({
    ok: true,
    changed: applied,
    config: clusterConfigDocument(handle.status().cluster),
  });
}
