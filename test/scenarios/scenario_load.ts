/**
 * The load every fault scenario runs and the verdicts it ends with: a {@link WriteProber} on
 * EVERY node (S1/S2 via {@link checkSingleWriter}) and a {@link ContinuousWriter} through
 * whichever node is primary (D1 via {@link checkAcknowledgedWrites}). Both verdicts fail hard.
 *
 * @module
 */
import { assert } from "../harness/test_assertions.ts";
import {
  checkAcknowledgedWrites,
  checkSingleWriter,
  type NodeRows,
  type ProbeRecord,
} from "../harness/checkers.ts";
import { ContinuousWriter, readWrittenIds } from "../harness/continuous_writer.ts";
import { WriteProber } from "../harness/write_prober.ts";
import type { WriteRecord } from "../harness/write_history.ts";
import type { ScenarioCluster } from "./scenario_cluster.ts";

/** Time the standbys get to replay every acknowledged row before they are compared. */
const CATCH_UP_TIMEOUT_MS = 30_000;
/** The product promises failover well under this; generous for a loaded 2-core CI machine. */
export const FAILOVER_TIMEOUT_MS = 20_000;
/** A deposed primary rejoins (pg_rewind, or a re-clone) within this. */
export const REJOIN_TIMEOUT_MS = 60_000;
/** Writes acknowledged before and after a fault, so that no history is vacuous. */
export const WRITES_PER_PHASE = 20;
/** Default wait for a number of acknowledged writes. */
const WRITES_TIMEOUT_MS = 30_000;

/**
 * Longest time in milliseconds between two consecutive acknowledgements among the writes
 * acknowledged at or after `sinceMs` (performance.now() time; default: all of them).
 */
export function longestAcknowledgementGapMs(writes: readonly WriteRecord[], sinceMs = 0): number {
  const ends = writes.filter((w) => w.outcome === "acknowledged" && w.endMs !== null)
    .map((w) => w.endMs ?? 0).filter((end) => end >= sinceMs).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < ends.length; i++) longest = Math.max(longest, ends[i]! - ends[i - 1]!);
  return longest;
}

/** The prober and the writer of one scenario. */
export interface ScenarioLoad {
  readonly prober: WriteProber;
  readonly writer: ContinuousWriter;
}

/** Starts the prober on every node and the writer on the primary. */
export async function startLoad(cluster: ScenarioCluster): Promise<ScenarioLoad> {
  const targets = cluster.targets();
  const writer = new ContinuousWriter(targets, { intervalMs: 20, writeTimeoutMs: 2_000 });
  const prober = new WriteProber(targets, { intervalMs: 25, attemptTimeoutMs: 1_000 });
  await writer.start();
  await prober.start();
  return { prober, writer };
}

/** Stops both and returns their records. */
export async function stopLoad(
  load: ScenarioLoad,
): Promise<{ probes: readonly ProbeRecord[]; writes: readonly WriteRecord[] }> {
  const [writes, probes] = await Promise.all([load.writer.stop(), load.prober.stop()]);
  return { probes, writes };
}

/** Successful probe writes on `node` that started at or after `sinceMs`. */
export function probeSuccesses(
  records: readonly ProbeRecord[],
  node: string,
  sinceMs = 0,
): ProbeRecord[] {
  return records.filter((r) => r.node === node && r.outcome === "ok" && r.startMs >= sinceMs);
}

/** Writes acknowledged by `node` (any node when null) that started at or after `sinceMs`. */
export function acknowledgedSince(
  records: readonly WriteRecord[],
  sinceMs: number,
  node: string | null = null,
): number {
  return records.filter((r) =>
    r.outcome === "acknowledged" && r.startMs >= sinceMs && (node === null || r.node === node)
  ).length;
}

/** Fails when two nodes accepted writes at once or a deposed node wrote on an old timeline. */
export function assertSingleWriter(probes: readonly ProbeRecord[]): void {
  const verdict = checkSingleWriter(probes);
  assert(verdict.ok, `S1/S2 violated: ${verdict.summary}`);
  assert(verdict.successfulWrites > 0, "the prober saw no successful write at all");
}

/**
 * Fails when an acknowledged write is missing on the primary `primaryIndex` or on any of
 * `standbys` (after they had time to replay everything the primary has).
 */
export async function assertNoAcknowledgedWriteLost(
  cluster: ScenarioCluster,
  writes: readonly WriteRecord[],
  primaryIndex: number,
  standbys: readonly number[],
): Promise<string> {
  const primaryRows = await readWrittenIds(cluster.target(primaryIndex));
  const rows: NodeRows[] = [{ node: cluster.node(primaryIndex).id, ids: primaryRows }];
  const highest = Math.max(0, ...primaryRows);
  for (const index of standbys) {
    let ids: number[] = [];
    await cluster.waitFor(`node ${index} replayed row ${highest}`, async () => {
      ids = await readWrittenIds(cluster.target(index));
      return ids.includes(highest);
    }, CATCH_UP_TIMEOUT_MS);
    rows.push({ node: cluster.node(index).id, ids });
  }
  const verdict = checkAcknowledgedWrites(writes, rows);
  assert(verdict.ok, `D1 violated: ${verdict.summary}`);
  assert(verdict.acknowledgedCount > 0, "the writer had no acknowledged write at all");
  return verdict.summary;
}

/**
 * Ends a scenario's load and checks it: S1/S2 on every probe, then D1 on the primary and every
 * other node of `nodes` (default all) once the cluster is healthy again. Returns the summary.
 */
export async function stopAndCheckLoad(
  cluster: ScenarioCluster,
  load: ScenarioLoad,
  timeoutMs: number,
  nodes: readonly number[] = cluster.nodes.map((node) => node.index),
): Promise<string> {
  const { probes, writes } = await stopLoad(load);
  assertSingleWriter(probes);
  const primary = await cluster.waitHealthy(timeoutMs, nodes);
  const standbys = nodes.filter((index) => index !== primary);
  return await assertNoAcknowledgedWriteLost(cluster, writes, primary, standbys);
}

/** Waits until `count` writes started after `sinceMs` (by `node`, if given) were acknowledged. */
export async function waitForWrites(
  cluster: ScenarioCluster,
  load: ScenarioLoad,
  count: number,
  options: { readonly sinceMs?: number; readonly node?: string; readonly timeoutMs?: number } = {},
): Promise<void> {
  const node = options.node ?? null;
  await cluster.waitFor(
    `${count} writes acknowledged${node === null ? "" : ` by ${node}`}`,
    () => acknowledgedSince(load.writer.history.records, options.sinceMs ?? 0, node) >= count,
    options.timeoutMs ?? WRITES_TIMEOUT_MS,
  );
}

/** Waits for a primary other than `oldPrimary` that took a probe write after `sinceMs`. */
export async function waitForNewPrimary(
  cluster: ScenarioCluster,
  load: ScenarioLoad,
  oldPrimary: number,
  sinceMs: number,
): Promise<{ index: number; firstWriteMs: number }> {
  let index = -1;
  await cluster.waitFor("a new primary takes probe writes", async () => {
    index = (await cluster.primaryIndex([oldPrimary])) ?? -1;
    return index >= 0 &&
      probeSuccesses(load.prober.records, cluster.node(index).id, sinceMs).length > 0;
  }, FAILOVER_TIMEOUT_MS);
  const starts = probeSuccesses(load.prober.records, cluster.node(index).id, sinceMs)
    .map((r) => r.startMs);
  return { index, firstWriteMs: Math.min(...starts) };
}

/** Waits until `oldPrimary` runs as a standby and follows `newPrimary`. */
export async function waitRejoined(
  cluster: ScenarioCluster,
  oldPrimary: number,
  newPrimary: number,
  timeoutMs: number = REJOIN_TIMEOUT_MS,
): Promise<void> {
  const oldId = cluster.node(oldPrimary).id;
  const newId = cluster.node(newPrimary).id;
  await cluster.waitFor(`${oldId} rejoins as a standby of ${newId}`, async () => {
    const status = await cluster.status(oldPrimary);
    const observation = status?.postgres.observation;
    return observation?.status === "running" && observation.inRecovery &&
      status?.raft.leader === newId;
  }, timeoutMs);
}

/** Writes the old primary acknowledged after the fault become "unknown" (asynchronous mode). */
export function relaxAfterFault(
  writes: readonly WriteRecord[],
  oldId: string,
  faultMs: number,
): WriteRecord[] {
  return writes.map((w) =>
    w.node === oldId && w.startMs >= faultMs && w.outcome === "acknowledged"
      ? { ...w, outcome: "unknown" as const }
      : w
  );
}
