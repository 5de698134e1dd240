/**
 * The query parameters of Patroni's health checks: `lag` (bytes, or 16kB / 64MB / 1GB),
 * `replication_state`, `mode` and `tag_<name>`. A parameter an endpoint does not understand,
 * a repeated one or a bad value is refused with 400 and a message — never silently ignored
 * (a lagging standby must not stay in a read pool because `lag=16mb` was misread).
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";

/** What a health check was asked, parsed. */
export interface HealthQuery {
  /** Most bytes the standby may trail the leader; null: no limit asked. */
  readonly lagBytes: number | null;
  /** Patroni's replication state the standby must be in; null: any. */
  readonly replicationState: ReplicationStateName | null;
  /** Readiness: compare the leader's position with the replayed (apply) or received (write) WAL. */
  readonly mode: "apply" | "write";
  /** Tags the node must carry with these values (from `tag_<name>=<value>`). */
  readonly tags: Readonly<Record<string, string>>;
}

/** The parameters an endpoint accepts; `tag_<name>` is covered by "tags". */
export type QueryParameter = "lag" | "replication_state" | "mode" | "tags";

/** The replication states a standby reports (Patroni's names). */
export const REPLICATION_STATES = ["streaming", "in archive recovery"] as const;
/** One of {@link REPLICATION_STATES}. */
export type ReplicationStateName = typeof REPLICATION_STATES[number];

/** Multipliers of the size units Patroni accepts (powers of 1024, as Postgres' own units). */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
};

/** Parses `16MB`, `1024kB`, `1048576` into bytes; null when it is not a size. */
export function parseSizeBytes(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (match === null) return null;
  const unit = SIZE_UNITS[(match[2] ?? "").toLowerCase() || "b"];
  if (unit === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Parses the query of `url` for an endpoint accepting `allowed`; throws 400 on anything else. */
export function parseHealthQuery(url: URL, allowed: readonly QueryParameter[]): HealthQuery {
  const seen = new Set<string>();
  let lagBytes: number | null = null;
  let replicationState: ReplicationStateName | null = null;
  let mode: "apply" | "write" = "apply";
  const tags: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (seen.has(name)) refuse(`parameter ${name} is given twice; give it once`);
    seen.add(name);
    const kind: QueryParameter | null = name.startsWith("tag_") && name.length > 4
      ? "tags"
      : (["lag", "replication_state", "mode"] as const).find((known) => known === name) ?? null;
    if (kind === null || !allowed.includes(kind)) {
      refuse(
        `${url.pathname} does not take parameter ${JSON.stringify(name)}; it takes ${
          describeAllowed(allowed)
        }`,
      );
    }
    if (kind === "lag") lagBytes = parseLag(value);
    else if (kind === "replication_state") replicationState = parseReplicationState(value);
    else if (kind === "mode") mode = parseMode(value);
    else tags[name.slice(4)] = value;
  }
  return { lagBytes, replicationState, mode, tags };
}

function parseLag(value: string): number {
  const bytes = parseSizeBytes(value);
  if (bytes === null) {
    refuse(
      `lag=${JSON.stringify(value)} is not a size; give bytes (1048576) or a size with ` +
        "a unit B, kB, MB, GB or TB (16MB)",
    );
  }
  return bytes;
}

function parseReplicationState(value: string): ReplicationStateName {
  const state = REPLICATION_STATES.find((known) => known === value);
  if (state === undefined) {
    refuse(
      `replication_state=${JSON.stringify(value)} is not a state hactl reports; give one of ${
        REPLICATION_STATES.map((known) => JSON.stringify(known)).join(", ")
      }`,
    );
  }
  return state;
}

function parseMode(value: string): "apply" | "write" {
  if (value !== "apply" && value !== "write") {
    refuse(`mode=${JSON.stringify(value)} is not a readiness mode; give apply or write`);
  }
  return value;
}

function describeAllowed(allowed: readonly QueryParameter[]): string {
  if (allowed.length === 0) return "no parameters";
  return allowed.map((name) => name === "tags" ? "tag_<name>" : name).join(", ");
}

function refuse(message: string): never {
  throw new HTTPException(400, { message });
}
