/**
 * `hactl token [--read-only]`: prints an API token derived from the cluster secret, for
 * operators and scripts (admin: changes) or Prometheus (read-only: status and metrics when
 * api.require_read_token is on). The secret itself is never printed.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadAgentConfig } from "../config/config_file.ts";
import {
  type CommandOutput,
  CONSOLE_OUTPUT,
  runGuarded,
  secretFromFile,
  tokensFromFile,
} from "./operator_options.ts";
import { UsageError } from "./usage_error.ts";
import { replicationPassword } from "../agent/members.ts";

/** Usage text of `hactl token`. */
export const TOKEN_USAGE =
  `usage: hactl token (--secret-file FILE | --config FILE) [--read-only | --replication-password]

Prints the REST API's admin token (Authorization: Bearer <token> for changes), or with
--read-only the token for GET /status, /metrics and the documents (api.require_read_token).
Both are derived from the cluster secret, which is never sent; they change only when the
secret does. Keep them as private as the secret's file (mode 0600). --replication-password
prints the replication role's password instead (to set it on the primary when the secret is
rotated: docs/SECURITY.md).

  --secret-file FILE  the cluster secret
  --config FILE       a node's config: its cluster.secret_file
  --read-only         the read-only token instead of the admin token
  --replication-password  the replication role's password
  -h, --help          this text`;

/** Runs `hactl token`; returns the exit code. */
export function tokenCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("token", output, async () => {
    let values;
    try {
      values = parseArgs({
        args: [...args],
        strict: true,
        options: {
          "secret-file": { type: "string" },
          config: { type: "string" },
          "read-only": { type: "boolean" },
          "replication-password": { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }).values;
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error), TOKEN_USAGE);
    }
    if (values.help === true) {
      output.out(TOKEN_USAGE);
      return 0;
    }
    let secretFile = values["secret-file"] ?? null;
    if (secretFile === null && values.config !== undefined) {
      secretFile = (await loadAgentConfig(values.config)).cluster.secretFile;
    }
    if (secretFile === null) {
      throw new UsageError(
        "say where the cluster secret is: --secret-file or --config",
        TOKEN_USAGE,
      );
    }
    if (values["read-only"] === true && values["replication-password"] === true) {
      throw new UsageError(
        "--read-only and --replication-password exclude each other",
        TOKEN_USAGE,
      );
    }
    if (values["replication-password"] === true) {
      output.out(replicationPassword(await secretFromFile(secretFile)));
      return 0;
    }
    const tokens = await tokensFromFile(secretFile);
    output.out(values["read-only"] === true ? tokens.read : tokens.admin);
    return 0;
  });
}
