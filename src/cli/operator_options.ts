/**
 * What every operator command shares: the `--api`, `--config`, `--secret-file` and `--json`
 * flags, finding the agents' APIs and the cluster secret from them, where output goes, and
 * turning command-line mistakes into exit code 2.
 *
 * @module
 */
import { useApiTls } from "./api_transport.ts";
import { tlsFilesOf } from "../config/tls_config.ts";
import { parseArgs } from "node:util";
import { ConfigError, loadAgentConfig } from "../config/config_file.ts";
import { readClusterSecret } from "../config/cluster_secret.ts";
import { type ApiTokens, deriveApiTokens } from "../config/derived_credentials.ts";
import { memberAddresses } from "../agent/members.ts";
import { formatApiAddress, parseApiAddress } from "../api/api_address.ts";
import { UsageError } from "./usage_error.ts";

/** Most `--api` addresses one command takes. */
export const MAX_API_ADDRESSES = 64;

/** Where a command prints: `out` for results, `error` for diagnostics. */
export interface CommandOutput {
  out(text: string): void;
  error(text: string): void;
}

/** Standard output and standard error. */
export const CONSOLE_OUTPUT: CommandOutput = {
  out: (text) => console.log(text),
  error: (text) => console.error(text),
};

/** The flags every operator command takes, for usage texts. */
export const COMMON_FLAGS_USAGE =
  `  --api HOST:PORT     an agent's API (repeatable); default: from --config
  --config FILE       a node's config: its API, its peers' APIs and the secret file
  --secret-file FILE  the cluster secret: the API tokens are derived from it, it is never sent
  --ca-file FILE      the cluster CA: talk HTTPS to --api addresses (default: tls.ca_file of
                      --config; without either, plain HTTP)
  --json              machine-readable output
  -h, --help          this text`;

/** The parsed flags of an operator command. */
export interface OperatorArgs {
  /** APIs to ask, `host:port`, in order. */
  readonly apis: readonly string[];
  /** The secret file to use, or null when none was given or configured. */
  readonly secretFile: string | null;
  readonly json: boolean;
  readonly positionals: readonly string[];
  /** Command-specific string flags. */
  readonly flags: Readonly<Record<string, string | undefined>>;
  /** Command-specific boolean flags (true when given). */
  readonly switches: Readonly<Record<string, boolean>>;
}

/**
 * Parses `args` (common flags plus `stringFlags`); returns null for --help. Throws
 * {@link UsageError} for unknown flags or no API, {@link ConfigError} for a bad --config.
 */
export async function parseOperatorArgs(
  args: readonly string[],
  usage: string,
  options: {
    stringFlags?: readonly string[];
    booleanFlags?: readonly string[];
    maxPositionals?: number;
  } = {},
): Promise<OperatorArgs | null> {
  const extra = Object.fromEntries([
    ...(options.stringFlags ?? []).map((name) => [name, { type: "string" as const }]),
    ...(options.booleanFlags ?? []).map((name) => [name, { type: "boolean" as const }]),
  ]);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        api: { type: "string", multiple: true },
        config: { type: "string" },
        "secret-file": { type: "string" },
        "ca-file": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        ...extra,
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (values.help === true) return null;
  const maxPositionals = options.maxPositionals ?? 0;
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`,
      usage,
    );
  }
  const { apis, secretFile } = await resolveTargets(values, usage);
  const flags: Record<string, string | undefined> = {};
  for (const name of options.stringFlags ?? []) flags[name] = values[name] as string | undefined;
  const switches = Object.fromEntries(
    (options.booleanFlags ?? []).map((name) => [name, values[name] === true]),
  );
  return {
    apis,
    secretFile,
    json: values.json === true,
    positionals: parsed.positionals,
    flags,
    switches,
  };
}

async function resolveTargets(
  values: Record<string, string | string[] | boolean | undefined>,
  usage: string,
): Promise<{ apis: string[]; secretFile: string | null }> {
  let apis: string[];
  try {
    apis = ((values.api as string[] | undefined) ?? []).map(parseApiAddress);
  } catch (error) {
    throw new UsageError(`--api: ${(error as Error).message}`, usage);
  }
  let secretFile = (values["secret-file"] as string | undefined) ?? null;
  if (typeof values.config === "string") {
    const config = await loadAgentConfig(values.config);
    // This node's own API first: it is the one most likely to be up when run on a node.
    const own = memberAddresses(config).filter((member) => member.id === config.node.id);
    const others = memberAddresses(config).filter((member) => member.id !== config.node.id);
    if (apis.length === 0) apis = [...own, ...others].map(formatApiAddress);
    secretFile ??= config.cluster.secretFile;
    if (typeof values["ca-file"] !== "string") await useApiTls(tlsFilesOf(config)?.caFile ?? null);
  }
  if (typeof values["ca-file"] === "string") {
    try {
      await useApiTls(values["ca-file"]);
    } catch (error) {
      throw new UsageError(`--ca-file: ${(error as Error).message}`, usage);
    }
  }
  if (apis.length === 0) {
    throw new UsageError("say which agent to ask: --api HOST:PORT or --config FILE", usage);
  }
  if (apis.length > MAX_API_ADDRESSES) {
    throw new UsageError(`${apis.length} APIs given, at most ${MAX_API_ADDRESSES}`, usage);
  }
  return { apis: [...new Set(apis)], secretFile };
}

/**
 * The admin API token for a command that changes something, derived from the cluster secret
 * (the secret itself is never sent); throws when there is no secret file.
 */
export async function requireAdminToken(parsed: OperatorArgs, usage: string): Promise<string> {
  if (parsed.secretFile === null) {
    throw new UsageError(
      "this command changes the cluster and needs the cluster secret: --secret-file FILE or " +
        "--config FILE",
      usage,
    );
  }
  return (await tokensFromFile(parsed.secretFile)).admin;
}

/**
 * The read-only API token when a secret file was given or configured and can be read, else
 * null: reads work without one unless api.require_read_token is on (then the API's 401 says
 * what to send), so an operator who may not read the secret file can still run `hactl status`.
 */
export async function optionalReadToken(parsed: OperatorArgs): Promise<string | null> {
  if (parsed.secretFile === null) return null;
  try {
    return (await tokensFromFile(parsed.secretFile)).read;
  } catch {
    return null;
  }
}

/** Reads the secret file and derives the API tokens; a bad file is a {@link ConfigError}. */
export async function tokensFromFile(secretFile: string): Promise<ApiTokens> {
  return await deriveApiTokens(await secretFromFile(secretFile));
}

/** Reads the cluster secret (for local derivations only); a bad file is a {@link ConfigError}. */
export async function secretFromFile(secretFile: string): Promise<string> {
  try {
    return await readClusterSecret(secretFile);
  } catch (error) {
    throw new ConfigError([(error as Error).message]);
  }
}

/** Runs a command body; a {@link UsageError} or {@link ConfigError} is printed and gives 2. */
export async function runGuarded(
  name: string,
  output: CommandOutput,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      output.error(`hactl ${name}: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      output.error(`hactl ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
