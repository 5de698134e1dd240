/**
 * `hactl version`: this hactl's version and, given `--api` or `--config`, the hactl and
 * Postgres versions of every member (from each member's `GET /patroni`).
 *
 * @module
 */
import { apiFetchOptions, apiUrl } from "./api_transport.ts";
import { VERSION } from "../version.ts";
import { formatApiAddress } from "../api/api_address.ts";
import { STATUS_TIMEOUT_MS } from "./api_client.ts";
import { collectStatuses } from "./status_command.ts";
import { renderTable } from "./table.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  optionalReadToken,
  parseOperatorArgs,
  runGuarded,
} from "./operator_options.ts";

/** Usage text of `hactl version`. */
export const VERSION_USAGE = `usage: hactl version [--api HOST:PORT | --config FILE] [--json]

Prints this hactl's version; with --api or --config, also every member's hactl and Postgres
versions.
${COMMON_FLAGS_USAGE}`;

/** One member's versions; null where it did not answer. */
export interface MemberVersion {
  readonly member: string;
  readonly hactl: string | null;
  readonly postgres: string | null;
}

/** Reads hactl's and Postgres' versions from `GET /patroni` at `api` (with `readToken` if given). */
export async function fetchMemberVersion(
  api: string,
  member: string,
  readToken: string | null = null,
): Promise<MemberVersion> {
  try {
    const response = await fetch(apiUrl(api, "/patroni"), {
      ...apiFetchOptions(),
      headers: readToken === null ? {} : { authorization: `Bearer ${readToken}` },
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    const document = await response.json() as {
      server_version?: unknown;
      hactl?: { version?: unknown };
    };
    const hactl = document.hactl?.version;
    const serverVersion = document.server_version;
    return {
      member,
      hactl: typeof hactl === "string" ? hactl : null,
      postgres: typeof serverVersion === "number" || typeof serverVersion === "string"
        ? formatServerVersion(serverVersion)
        : null,
    };
  } catch {
    return { member, hactl: null, postgres: null };
  }
}

/** Postgres' server_version_num (150004) as 15.4; text is kept as it is. */
export function formatServerVersion(version: number | string): string {
  if (typeof version === "string") return version;
  return `${Math.floor(version / 10_000)}.${version % 10_000}`;
}

/** Runs `hactl version ARGS`. */
export function versionCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  if (!args.some((arg) => arg.startsWith("--api") || arg.startsWith("--config"))) {
    const json = args.includes("--json");
    output.out(json ? JSON.stringify({ hactl: VERSION }) : `hactl ${VERSION}`);
    return Promise.resolve(0);
  }
  return runGuarded("version", output, async () => {
    const parsed = await parseOperatorArgs(args, VERSION_USAGE);
    if (parsed === null) return (output.out(VERSION_USAGE), 0);
    const readToken = await optionalReadToken(parsed);
    const statuses = await collectStatuses(parsed.apis, readToken);
    const addresses = new Map(
      [...statuses.values()].flatMap((status) => status?.members ?? [])
        .map((member) => [member.id, formatApiAddress(member)]),
    );
    const members = await Promise.all(
      [...statuses.keys()].map((id) =>
        statuses.get(id) === null || !addresses.has(id)
          ? Promise.resolve({ member: id, hactl: null, postgres: null })
          // The token goes only to the APIs given or configured.
          : fetchMemberVersion(
            addresses.get(id)!,
            id,
            parsed.apis.includes(addresses.get(id)!) ? readToken : null,
          )
      ),
    );
    if (parsed.json) output.out(JSON.stringify({ hactl: VERSION, members }));
    else {
      const rows = members.map((m) => [m.member, m.hactl ?? "unreachable", m.postgres ?? "-"]);
      output.out(`hactl ${VERSION}\n\n${renderTable(["member", "hactl", "postgres"], rows)}`);
    }
    return members.some((member) => member.hactl !== null) ? 0 : 1;
  });
}
