/**
 * `GET /config` (the cluster configuration as JSON, Patroni's) and `PATCH /config` (a JSON
 * merge patch: null removes a setting; authenticated). Every setting of a patch is checked
 * before any is proposed; then each is recorded in the Raft log in order, through the
 * leader (elsewhere: 409 naming the leader's API). A refusal midway names what was applied.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { AgentHandle } from "../agent/agent_handle.ts";
import {
  clusterConfigDocument,
  settingCommand,
  settingsOfPatch,
} from "../config/cluster_settings.ts";
import type { Command } from "../core/types.ts";
import { authorize, respond, submit } from "./admin_routes.ts";
import { readJsonObject } from "./request_body.ts";

/** Registers `GET /config` and `PATCH /config`. */
export function registerConfigRoutes(app: Hono, handle: AgentHandle, secret: string): void {
  const expected = new TextEncoder().encode(`Bearer ${secret}`);
  app.get("/config", (context: Context) => {
    return context.json(clusterConfigDocument(handle.status().cluster));
  });
  app.patch("/config", async (context: Context) => {
    authorize(context.req.header("authorization"), expected);
    const settings = settingsOfPatch(await readJsonObject(context.req.raw));
    if (typeof settings === "string") return context.json({ ok: false, error: settings }, 400);
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
  });
}
