/**
 * `hactl reload [MEMBER...]`: every member's agent (or the named ones) reads its config file
 * again (POST /reload on each, like SIGHUP) and says which settings changed and wait for a
 * restart. The admin token goes only to the APIs given or configured.
 *
 * @module
 */
import { formatApiAddress } from "../api/api_address.ts";
import { postOperatorRequest } from "./api_client.ts";
import { collectStatuses } from "./status_command.ts";
import { renderTable } from "./table.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  MAX_API_ADDRESSES,
  optionalReadToken,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";

/** Usage text of `hactl reload`. */
export const RELOAD_USAGE = `usage: hactl reload [MEMBER...] (--api HOST:PORT | --config FILE)
                    [--secret-file FILE] [--json]

Each member's agent (default: every member) reads its config file again, as on SIGHUP, and
answers which settings changed; those take effect when that agent restarts.
${COMMON_FLAGS_USAGE}`;

/** What one member answered. */
export interface ReloadResult {
  readonly member: string;
  readonly ok: boolean;
  readonly changed: readonly string[];
  readonly error: string | null;
}

/** Runs `hactl reload ARGS`; 0 when every asked member reloaded. */
export function reloadCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("reload", output, async () => {
    const parsed = await parseOperatorArgs(args, RELOAD_USAGE, {
      maxPositionals: MAX_API_ADDRESSES,
    });
    if (parsed === null) return (output.out(RELOAD_USAGE), 0);
    const token = await requireAdminToken(parsed, RELOAD_USAGE);
    const statuses = await collectStatuses(parsed.apis, await optionalReadToken(parsed));
    const addresses = new Map(
      [...statuses.values()].flatMap((status) => status?.members ?? [])
        .map((member) => [member.id, formatApiAddress(member)]),
    );
    const wanted = parsed.positionals.length > 0 ? parsed.positionals : [...statuses.keys()];
    const results = await Promise.all(wanted.map(async (member): Promise<ReloadResult> => {
      const api = addresses.get(member);
      if (api === undefined) return failed(member, "not a member that answered");
      if (!parsed.apis.includes(api)) {
        return failed(member, `its API ${api} is not configured: pass --api ${api}`);
      }
      const outcome = await postOperatorRequest({
        api,
        path: "/reload",
        body: {},
        token,
        trustedApis: [],
      });
      if (outcome.kind !== "done") {
        return failed(member, outcome.error);
      }
      const changed = (outcome.body as { changed?: unknown }).changed;
      return {
        member,
        ok: true,
        changed: Array.isArray(changed) ? changed.map(String) : [],
        error: null,
      };
    }));
    if (parsed.json) output.out(JSON.stringify(results));
    else {
      output.out(renderTable(
        ["member", "reloaded", "changed (restart needed)"],
        results.map((r) => [r.member, r.ok ? "yes" : `no: ${r.error}`, r.changed.join(", ")]),
      ));
    }
    return results.length > 0 && results.every((result) => result.ok) ? 0 : 1;
  });
}

function failed(member: string, error: string): ReloadResult {
  return { member, ok: false, changed: [], error };
}
