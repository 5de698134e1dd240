/**
 * The abstract Postgres of one node, as the model's environment sees it: a WAL history of
 * (timeline, write) records, running or stopped, primary or standby of a source.
 *
 * What is kept is what the safety contract talks about: which writes a server holds, in
 * which order and on which timeline, and whether it accepts writes. A promotion appends
 * an end-of-recovery record on a new timeline (so two promotions from the same history
 * diverge, as in Postgres); a rewind truncates to the common prefix with the source; a
 * clone copies the source's WAL. Fencing is a stop: a stopped server neither accepts
 * writes, acknowledges them, nor streams WAL.
 *
 * @module
 */
import type { PostgresObservation, PostgresRole, WalPosition } from "../src/core/mod.ts";
import type { PostgresModel, WalRecord } from "./cluster_types.ts";

/** The Postgres of a node just built from the same base backup as every other: an empty WAL on timeline 1. */
export const INITIAL_POSTGRES: PostgresModel = {
  wal: [],
  status: "running",
  inRecovery: true,
  source: -1,
  synchronousStandbyNames: "",
  promotion: 0,
};

/** Timeline of the last record (1 for an empty history). */
export function timelineOf(postgres: PostgresModel): number {
  return postgres.wal[postgres.wal.length - 1]?.timeline ?? 1;
}

/** (timeline, LSN = number of records). */
export function positionOf(postgres: PostgresModel): WalPosition {
  return { timeline: timelineOf(postgres), lsn: postgres.wal.length };
}

/** True when the server accepts client writes. */
export function isWritable(postgres: PostgresModel): boolean {
  return postgres.status === "running" && !postgres.inRecovery;
}

/** What the shell reports to the core. Observations are fresh: see docs/VERIFICATION.md. */
export function observe(postgres: PostgresModel): PostgresObservation {
  const primary = isWritable(postgres);
  return {
    status: postgres.status,
    inRecovery: postgres.inRecovery,
    position: positionOf(postgres),
    replayCaughtUp: true,
    synchronousStandbyNames: primary ? postgres.synchronousStandbyNames : null,
    fenced: postgres.status !== "running",
  };
}

/** Number of leading records two histories share. */
export function commonPrefixLength(a: readonly WalRecord[], b: readonly WalRecord[]): number {
  const limit = Math.min(a.length, b.length);
  for (let index = 0; index < limit; index++) {
    const left = a[index]!;
    const right = b[index]!;
    if (left.timeline !== right.timeline || left.write !== right.write) return index;
  }
  return limit;
}

/** True when `record` sits at `index` of `wal`. */
export function holdsRecordAt(
  wal: readonly WalRecord[],
  index: number,
  record: WalRecord,
): boolean {
  const own = wal[index];
  return own !== undefined && own.timeline === record.timeline && own.write === record.write;
}

/** Parsed synchronous_standby_names: `ANY k ("a", "b")`, or null for "" (no synchronous standby). */
export interface SyncRule {
  readonly count: number;
  readonly names: readonly string[];
}

/** Parses the quorum form hactl writes; throws on anything else so a format change is noticed. */
export function parseSynchronousStandbyNames(text: string): SyncRule | null {
  if (text.trim() === "") return null;
  const match = /^ANY\s+(\d+)\s*\((.*)\)$/.exec(text.trim());
  if (match === null) {
    throw new Error(`model: cannot parse synchronous_standby_names ${JSON.stringify(text)}`);
  }
  const names = (match[2] ?? "").split(",").map((name) => name.trim().replace(/^"(.*)"$/, "$1"));
  return { count: Number(match[1]), names: names.filter((name) => name.length > 0) };
}

/** The standby's WAL after receiving the next record from its source, or null when it cannot. */
export function streamNext(standby: PostgresModel, source: PostgresModel): PostgresModel | null {
  if (standby.status !== "running" || !standby.inRecovery || source.status !== "running") {
    return null;
  }
  const length = standby.wal.length;
  if (length >= source.wal.length || commonPrefixLength(standby.wal, source.wal) !== length) {
    return null;
  }
  return { ...standby, wal: [...standby.wal, source.wal[length]!] };
}

/** Inputs the environment needs to carry out a role. */
export interface ReconcileContext {
  readonly nodeIds: readonly string[];
  readonly postgresOf: (node: number) => PostgresModel;
  readonly nextPromotion: number;
}

/**
 * One supervisor action towards `role`: the new Postgres, or null when nothing changes (or
 * nothing can be done yet, e.g. a rewind whose source is down). Fencing happens elsewhere,
 * at once; here a `fenced` role only stops a server still running as primary.
 */
export function reconcilePostgres(
  postgres: PostgresModel,
  role: PostgresRole,
  context: ReconcileContext,
): PostgresModel | null {
  switch (role.kind) {
    case "primary":
      return becomePrimary(postgres, role.synchronousStandbyNames, context.nextPromotion);
    case "standby":
      return followSource(
        postgres,
        role.source === null ? -1 : context.nodeIds.indexOf(role.source),
      );
    case "rejoin":
    case "clone":
      return rejoin(postgres, context.nodeIds.indexOf(role.source), role.kind, context);
    case "fenced":
      return isWritable(postgres) ? { ...postgres, status: "stopped" } : null;
    case "initdb":
    case "hold":
      return null;
  }
}

function becomePrimary(
  postgres: PostgresModel,
  names: string,
  nextPromotion: number,
): PostgresModel | null {
  if (postgres.status === "stopped" && postgres.inRecovery) {
    return { ...postgres, status: "running" };
  }
  if (postgres.status === "running" && postgres.inRecovery) {
    const timeline = Math.max(1, ...postgres.wal.map((record) => record.timeline)) + 1;
    return {
      ...postgres,
      wal: [...postgres.wal, { timeline, write: 0 }],
      inRecovery: false,
      source: -1,
      synchronousStandbyNames: names,
      promotion: nextPromotion,
    };
  }
  if (postgres.status === "stopped") {
    // A fenced primary that leads again: restarted as primary, a new primary incarnation.
    return {
      ...postgres,
      status: "running",
      synchronousStandbyNames: names,
      promotion: nextPromotion,
    };
  }
  if (postgres.synchronousStandbyNames !== names) {
    return { ...postgres, synchronousStandbyNames: names };
  }
  return null;
}

function followSource(postgres: PostgresModel, source: number): PostgresModel | null {
  if (isWritable(postgres)) return { ...postgres, status: "stopped" };
  const next: PostgresModel = { ...postgres, status: "running", inRecovery: true, source };
  const same = next.status === postgres.status && next.inRecovery === postgres.inRecovery &&
    next.source === postgres.source;
  return same ? null : next;
}

function rejoin(
  postgres: PostgresModel,
  source: number,
  kind: "rejoin" | "clone",
  context: ReconcileContext,
): PostgresModel | null {
  if (source < 0) return null;
  const sourcePostgres = context.postgresOf(source);
  // pg_rewind and pg_basebackup both read from a running source.
  if (sourcePostgres.status !== "running") return null;
  const keep = kind === "clone" ? 0 : commonPrefixLength(postgres.wal, sourcePostgres.wal);
  const wal = kind === "clone" ? [...sourcePostgres.wal] : postgres.wal.slice(0, keep);
  const next: PostgresModel = { ...postgres, wal, status: "running", inRecovery: true, source };
  const same = next.wal.length === postgres.wal.length && next.status === postgres.status &&
    next.inRecovery === postgres.inRecovery && next.source === postgres.source;
  return same ? null : next;
}
