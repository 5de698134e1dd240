/**
 * Loading hactl.toml: parse, apply environment and command-line overrides, check every key
 * against the schema and report every problem at once, each with where it came from
 * ("hactl.toml:12: postgres.port = 99999: expected a port 1-65535").
 *
 * Overrides: the environment variable `HACTL_<SECTION>_<KEY>` (e.g. HACTL_POSTGRES_PORT) and
 * a flat record of "section.key" to text from command-line flags; flags win over the
 * environment, which wins over the file. Both are checked with the same messages as the file.
 *
 * @module
 */
import {
  coreConfigOf,
  leaseSafetyTicksFor,
  MIN_LEASE_SAFETY_TICKS,
  WATCHDOG_KILL_MARGIN_MS,
} from "./core_config.ts";
import type { SyncMode } from "../core/types.ts";
import {
  type AgentConfig,
  CONFIG_FIELDS,
  CONFIG_KEY_PATHS,
  CONFIG_SECTIONS,
  type ConfigKeyPath,
  type ConfigSection,
  type HostPort,
  isWildcardHost,
  parseHostPort,
  parseParameter,
  parsePeer,
} from "./config_schema.ts";
import { DEFAULT_API_PORT } from "./defaults.ts";
import { closestName } from "./did_you_mean.ts";
import { parseToml, renderTomlValue, type TomlDocument, type TomlValue } from "./toml_subset.ts";

/** One override of a key, with where it came from for messages. */
export interface ConfigOverride {
  /** "section.key". */
  readonly path: string;
  /** The value as text; read according to the key's type. */
  readonly text: string;
  /** For messages, e.g. "environment variable HACTL_POSTGRES_PORT". */
  readonly origin: string;
  /** How to spell a suggested key in a did-you-mean hint for this origin. */
  readonly spell: (path: string) => string;
}

/** The outcome of checking a configuration. */
export type ConfigResult =
  | { readonly ok: true; readonly config: AgentConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Every problem of a configuration, thrown by {@link loadAgentConfig}. */
export class ConfigError extends Error {
  /** One line per problem. */
  readonly errors: readonly string[];

  /** Joins the problems into the message, one per line. */
  constructor(errors: readonly string[]) {
    super(`invalid hactl configuration:\n  ${errors.join("\n  ")}`);
    this.name = "ConfigError";
    this.errors = errors;
  }
}

const ENVIRONMENT_PREFIX = "HACTL_";

/** A value present in the configuration and where it came from. */
interface Sourced {
  readonly value: TomlValue;
  readonly origin: string;
}

/** Reads a file, applies `environment` and `flags` overrides, and validates; throws {@link ConfigError}. */
export async function loadAgentConfig(
  path: string,
  options: {
    environment?: Readonly<Record<string, string>>;
    flags?: Readonly<Record<string, string>>;
  } = {},
): Promise<AgentConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError([
      `${path}: cannot read the configuration file: ${String(error)}; create one with hactl init`,
    ]);
  }
  const overrides = [
    ...overridesFromEnvironment(options.environment ?? {}),
    ...overridesFromFlags(options.flags ?? {}),
  ];
  const result = parseAgentConfig(text, { fileName: path, overrides });
  if (!result.ok) throw new ConfigError(result.errors);
  return result.config;
}

/**
 * Overrides from `HACTL_<SECTION>_<KEY>` variables. Variables whose section is not a config
 * section (HACTL_LOG_LEVEL, ...) belong to other parts of hactl and are ignored; an unknown key
 * in a known section is kept so that validation reports it with a suggestion.
 */
export function overridesFromEnvironment(
  environment: Readonly<Record<string, string>>,
): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  for (const [name, text] of Object.entries(environment)) {
    if (!name.startsWith(ENVIRONMENT_PREFIX)) continue;
    const rest = name.slice(ENVIRONMENT_PREFIX.length).toLowerCase();
    const separator = rest.indexOf("_");
    const section = rest.slice(0, separator);
    if (separator <= 0 || !Object.hasOwn(CONFIG_SECTIONS, section)) continue;
    overrides.push({
      path: `${section}.${rest.slice(separator + 1)}`,
      text,
      origin: `environment variable ${name}`,
      spell: environmentName,
    });
  }
  return overrides.sort((left, right) => left.origin.localeCompare(right.origin));
}

/** The environment variable that overrides `path` ("postgres.port" -> "HACTL_POSTGRES_PORT"). */
export function environmentName(path: string): string {
  return ENVIRONMENT_PREFIX + path.replace(".", "_").toUpperCase();
}

/** Overrides from command-line flags, given as "section.key" to text. */
export function overridesFromFlags(flags: Readonly<Record<string, string>>): ConfigOverride[] {
  return Object.entries(flags).map(([path, text]) => ({
    path,
    text,
    origin: `command-line override ${path}`,
    spell: (suggested: string) => suggested,
  }));
}

/** Parses and validates configuration text, then applies `overrides` in order. Never throws. */
export function parseAgentConfig(
  text: string,
  options: { fileName: string; overrides?: readonly ConfigOverride[] },
): ConfigResult {
  const parsed = parseToml(text, options.fileName);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const errors: string[] = [];
  const values = collectFileValues(parsed.document, options.fileName, errors);
  for (const override of options.overrides ?? []) applyOverride(values, override, errors);
  for (const [path, sourced] of values) {
    const problem = CONFIG_FIELDS[path].check(sourced.value);
    if (problem !== null) {
      errors.push(`${sourced.origin}: ${path} = ${renderTomlValue(sourced.value)}: ${problem}`);
    }
  }
  for (const path of CONFIG_KEY_PATHS) {
    const field = CONFIG_FIELDS[path];
    if (field.default !== "required" || values.has(path)) continue;
    const [section, key] = splitPath(path);
    errors.push(
      `${options.fileName}: ${path} is missing: add ${key} = ${field.example} under [${section}]`,
    );
  }
  if (errors.length > 0) return { ok: false, errors: inFileOrder(errors, options.fileName) };
  const config = buildConfig(values, options.fileName, errors);
  return errors.length > 0 || config === null ? { ok: false, errors } : { ok: true, config };
}

/** File errors by line, then overrides and missing keys in the order found. */
function inFileOrder(errors: readonly string[], fileName: string): string[] {
  const lineOf = (error: string) => {
    const match = error.startsWith(`${fileName}:`)
      ? /^(\d+)/.exec(error.slice(fileName.length + 1))
      : null;
    return match === null ? Infinity : Number(match[1]);
  };
  return errors.map((error, position) => ({ error, position, line: lineOf(error) }))
    .sort((left, right) => left.line - right.line || left.position - right.position)
    .map((item) => item.error);
}

function collectFileValues(
  document: TomlDocument,
  fileName: string,
  errors: string[],
): Map<ConfigKeyPath, Sourced> {
  const values = new Map<ConfigKeyPath, Sourced>();
  const sectionNames = Object.keys(CONFIG_SECTIONS);
  for (const section of document.sections) {
    if (Object.hasOwn(CONFIG_SECTIONS, section.name)) continue;
    const suggestion = closestName(section.name, sectionNames);
    errors.push(
      `${fileName}:${section.line}: [${section.name}] is not a section` +
        (suggestion === null
          ? `; the sections are ${sectionNames.map((name) => `[${name}]`).join(", ")}`
          : `; did you mean [${suggestion}]?`),
    );
  }
  for (const entry of document.entries) {
    const origin = `${fileName}:${entry.line}`;
    if (entry.section === "") {
      errors.push(
        `${origin}: ${entry.key} is outside any section; put it under one of ${
          sectionNames.map((name) => `[${name}]`).join(", ")
        }`,
      );
      continue;
    }
    if (!Object.hasOwn(CONFIG_SECTIONS, entry.section)) continue;
    const path = `${entry.section}.${entry.key}`;
    if (!isKeyPath(path)) {
      errors.push(`${origin}: ${unknownKeyMessage(path, (suggested) => suggested)}`);
      continue;
    }
    values.set(path, { value: entry.value, origin });
  }
  return values;
}

function applyOverride(
  values: Map<ConfigKeyPath, Sourced>,
  override: ConfigOverride,
  errors: string[],
): void {
  if (!isKeyPath(override.path)) {
    errors.push(`${override.origin}: ${unknownKeyMessage(override.path, override.spell)}`);
    return;
  }
  values.set(override.path, {
    value: valueFromText(override.text, CONFIG_FIELDS[override.path].kind),
    origin: override.origin,
  });
}

/** "postgres.prot is not a key; did you mean postgres.port?", spelt for the origin. */
function unknownKeyMessage(path: string, spell: (path: string) => string): string {
  const [section, key] = splitPath(path);
  const sameSection = CONFIG_KEY_PATHS.filter((candidate) => candidate.startsWith(`${section}.`));
  const close = closestName(key, sameSection.map((candidate) => splitPath(candidate)[1]));
  if (close !== null) return `${path} is not a key; did you mean ${spell(`${section}.${close}`)}?`;
  const elsewhere = CONFIG_KEY_PATHS.find((candidate) => splitPath(candidate)[1] === key);
  if (elsewhere !== undefined) {
    return `${path} is not a key of [${section}]; did you mean ${spell(elsewhere)}?`;
  }
  const keys = sameSection.map((candidate) => splitPath(candidate)[1]).join(", ");
  return `${path} is not a key; the keys of [${section}] are ${keys}`;
}

/** Reads override text as the key's type; text that does not fit stays a string for the check to refuse. */
function valueFromText(
  text: string,
  kind: (typeof CONFIG_FIELDS)[ConfigKeyPath]["kind"],
): TomlValue {
  const trimmed = text.trim();
  const isInteger = /^[+-]?\d{1,16}$/.test(trimmed) && Number.isSafeInteger(Number(trimmed));
  switch (kind) {
    case "integer":
    case "integer-or-string":
      return isInteger
        ? { kind: "integer", value: Number(trimmed) }
        : { kind: "string", value: text };
    case "boolean":
      return trimmed === "true" || trimmed === "false"
        ? { kind: "boolean", value: trimmed === "true" }
        : { kind: "string", value: text };
    case "string-array":
      return {
        kind: "string-array",
        value: trimmed === "" ? [] : trimmed.split(",").map((item) => item.trim()),
      };
    case "string":
      return { kind: "string", value: text };
  }
}

function isKeyPath(path: string): path is ConfigKeyPath {
  return Object.hasOwn(CONFIG_FIELDS, path);
}

function splitPath(path: string): [ConfigSection, string] {
  const separator = path.indexOf(".");
  return [path.slice(0, separator) as ConfigSection, path.slice(separator + 1)];
}

/** Reads checked values by type, falling back to defaults. */
class CheckedValues {
  constructor(readonly values: ReadonlyMap<ConfigKeyPath, Sourced>, readonly fileName: string) {}

  /** The value set or defaulted, null for an unset key without default. */
  read(path: ConfigKeyPath): TomlValue | null {
    const present = this.values.get(path)?.value;
    if (present !== undefined) return present;
    const fallback = CONFIG_FIELDS[path].default;
    return typeof fallback === "string" ? null : fallback;
  }

  text(path: ConfigKeyPath): string {
    const value = this.read(path);
    if (value?.kind !== "string") {
      throw new Error(`config: ${path} should have been checked as a string`);
    }
    return value.value;
  }

  optionalText(path: ConfigKeyPath): string | null {
    return this.read(path) === null ? null : this.text(path);
  }

  integer(path: ConfigKeyPath): number {
    const value = this.read(path);
    if (value?.kind !== "integer") {
      throw new Error(`config: ${path} should have been checked as an integer`);
    }
    return value.value;
  }

  flag(path: ConfigKeyPath): boolean {
    const value = this.read(path);
    if (value?.kind !== "boolean") {
      throw new Error(`config: ${path} should have been checked as a boolean`);
    }
    return value.value;
  }

  list(path: ConfigKeyPath): readonly string[] {
    const value = this.read(path);
    if (value?.kind !== "string-array") {
      throw new Error(`config: ${path} should have been checked as an array`);
    }
    return value.value;
  }

  address(path: ConfigKeyPath): HostPort {
    return parseHostPort(this.text(path))!;
  }

  origin(path: ConfigKeyPath): string {
    return this.values.get(path)?.origin ?? `${this.fileName} (default)`;
  }
}

/** Builds the typed configuration from checked values and runs the checks that span keys. */
function buildConfig(
  values: ReadonlyMap<ConfigKeyPath, Sourced>,
  fileName: string,
  errors: string[],
): AgentConfig | null {
  const checked = new CheckedValues(values, fileName);
  const raftListen = checked.address("raft.listen");
  if (checked.read("raft.advertise") === null && isWildcardHost(raftListen.hostname)) {
    errors.push(
      `${checked.origin("raft.listen")}: raft.advertise is missing: raft.listen = "${
        checked.text("raft.listen")
      }" ` +
        `listens everywhere, so add advertise = "<this node's address>:${raftListen.port}" under [raft]`,
    );
    return null;
  }
  const raftAdvertise = checked.read("raft.advertise") === null
    ? raftListen
    : checked.address("raft.advertise");
  const gatewayListen = checked.optionalText("gateway.listen");
  const config: AgentConfig = {
    node: {
      id: checked.text("node.id"),
      dataDir: checked.text("node.data_dir"),
      hardwareWatchdog: checked.optionalText("node.hardware_watchdog"),
    },
    cluster: {
      name: checked.text("cluster.name"),
      secretFile: checked.text("cluster.secret_file"),
      peers: checked.list("cluster.peers").map((peer) => parsePeer(peer)!),
      syncMode: checked.text("cluster.sync_mode") as SyncMode,
      maxLagBytes: checked.read("cluster.max_lag_bytes")?.kind === "string"
        ? null
        : checked.integer("cluster.max_lag_bytes"),
    },
    raft: {
      listen: raftListen,
      advertise: raftAdvertise,
      tickMs: checked.integer("raft.tick_ms"),
      electionTimeoutTicks: checked.integer("raft.election_timeout_ticks"),
      electionTimeoutJitterTicks: checked.integer("raft.election_timeout_jitter_ticks"),
      heartbeatIntervalTicks: checked.integer("raft.heartbeat_interval_ticks"),
      clockDriftPermille: checked.integer("raft.clock_drift_permille"),
    },
    api: {
      listen: checked.read("api.listen") === null
        ? { hostname: raftAdvertise.hostname, port: DEFAULT_API_PORT }
        : checked.address("api.listen"),
      primaryHoldMs: checked.integer("api.primary_hold_ms"),
      requireReadToken: checked.flag("api.require_read_token"),
    },
    gateway: {
      listen: gatewayListen === null ? null : checked.address("gateway.listen"),
      maxConnections: checked.integer("gateway.max_connections"),
    },
    postgres: {
      binDir: checked.optionalText("postgres.bin_dir"),
      dataDir: checked.text("postgres.data_dir"),
      listenAddress: checked.text("postgres.listen_address"),
      port: checked.integer("postgres.port"),
      advertiseHost: checked.optionalText("postgres.advertise_host") ?? raftAdvertise.hostname,
      runAsUser: checked.text("postgres.run_as_user"),
      replicationUser: checked.text("postgres.replication_user"),
      superuser: checked.text("postgres.superuser"),
      parameters: checked.list("postgres.parameters").map((parameter) =>
        parseParameter(parameter)!
      ),
      clientNetworks: checked.list("postgres.client_networks"),
    },
    hooks: {
      onRoleChange: checked.optionalText("hooks.on_role_change"),
      onStart: checked.optionalText("hooks.on_start"),
      onStop: checked.optionalText("hooks.on_stop"),
      timeoutMs: checked.integer("hooks.timeout_ms"),
    },
    log: {
      format: checked.text("log.format") as AgentConfig["log"]["format"],
      level: checked.text("log.level") as AgentConfig["log"]["level"],
    },
    tls: {
      enabled: checked.flag("tls.enabled"),
      caFile: checked.optionalText("tls.ca_file"),
      certFile: checked.optionalText("tls.cert_file"),
      keyFile: checked.optionalText("tls.key_file"),
    },
  };
  checkAcrossKeys(config, (path) => checked.origin(path), errors);
  return config;
}

/** Checks that involve several keys: peers, timing, ports. */
function checkAcrossKeys(
  config: AgentConfig,
  origin: (path: ConfigKeyPath) => string,
  errors: string[],
): void {
  const self = config.cluster.peers.find((peer) => peer.id === config.node.id);
  if (self !== undefined) {
    errors.push(
      `${
        origin("cluster.peers")
      }: cluster.peers lists this node (${self.id}) itself; list only the other members`,
    );
  }
  if (isWildcardHost(config.raft.advertise.hostname)) {
    errors.push(
      `${
        origin("raft.advertise")
      }: raft.advertise = "${config.raft.advertise.hostname}:${config.raft.advertise.port}": expected an address peers can reach, not a wildcard`,
    );
  }
  try {
    coreConfigOf(config);
  } catch (error) {
    // The core's assertion names the rule; its "invariant violated" prefix would only confuse here.
    const detail = (error instanceof Error ? error.message : String(error)).replace(
      /^.*invariant violated: /,
      "",
    );
    errors.push(
      `${
        origin("raft.election_timeout_ticks")
      }: raft.election_timeout_ticks = ${config.raft.electionTimeoutTicks}, ` +
        `raft.heartbeat_interval_ticks = ${config.raft.heartbeatIntervalTicks}: ${detail}` +
        marginNote(config.raft.tickMs),
    );
  }
  checkPortClashes(config, origin, errors);
  checkTlsFiles(config, origin, errors);
}

/** Why a short tick shortens the lease (the watchdog's margin is real time, not ticks). */
function marginNote(tickMs: number): string {
  const margin = leaseSafetyTicksFor(tickMs);
  if (margin <= MIN_LEASE_SAFETY_TICKS) return "";
  return ` (with raft.tick_ms = ${tickMs} the lease ends ${margin} ticks early so that the ` +
    `watchdog's ${WATCHDOG_KILL_MARGIN_MS} ms fit: raise raft.tick_ms or raft.election_timeout_ticks)`;
}

function checkTlsFiles(
  config: AgentConfig,
  origin: (path: ConfigKeyPath) => string,
  errors: string[],
): void {
  if (config.tls === undefined || !config.tls.enabled) return;
  const missing = ([
    ["tls.ca_file", config.tls.caFile],
    ["tls.cert_file", config.tls.certFile],
    ["tls.key_file", config.tls.keyFile],
  ] as const).filter(([, file]) => file === null).map(([path]) => path);
  if (missing.length > 0) {
    errors.push(
      `${origin("tls.enabled")}: tls.enabled = true needs ${missing.join(", ")}: set them to ` +
        "your PEM files, or let hactl init --nodes create a cluster CA and certificates",
    );
  }
}

function checkPortClashes(
  config: AgentConfig,
  origin: (path: ConfigKeyPath) => string,
  errors: string[],
): void {
  const listeners: [ConfigKeyPath, HostPort][] = [
    ["raft.listen", config.raft.listen],
    ["api.listen", config.api.listen],
    ["postgres.port", { hostname: config.postgres.listenAddress, port: config.postgres.port }],
  ];
  if (config.gateway.listen !== null) listeners.push(["gateway.listen", config.gateway.listen]);
  for (const [index, [path, address]] of listeners.entries()) {
    for (const [otherPath, other] of listeners.slice(0, index)) {
      const sameHost = address.hostname === other.hostname || isWildcardHost(address.hostname) ||
        isWildcardHost(other.hostname);
      if (!sameHost || address.port !== other.port) continue;
      // Blame the key that was written down rather than one left at its default.
      const [blamed, innocent] = origin(path).endsWith("(default)")
        ? [otherPath, path]
        : [path, otherPath];
      errors.push(
        `${
          origin(blamed)
        }: ${blamed} uses port ${address.port}, which ${innocent} already uses; pick another port`,
      );
    }
  }
}
