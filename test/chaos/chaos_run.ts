/**
 * One chaos run, Jepsen-style: a fresh 3-node cluster in network namespaces plus a client host,
 * three clients writing unique ids ({@link startClients}), the seeded nemesis schedule injected
 * and healed step by step, everything healed, time to recover, then the checkers: every
 * acknowledged write on the final primary, and never two nodes acknowledging writes at once.
 * Returns the figures; the caller decides what fails.
 *
 * @module
 */

import { ScenarioCluster, STARTUP_TIMEOUT_MS } from "../scenarios/scenario_cluster.ts";
import type { ClockSkewOptions } from "../harness/clock_skew.ts";
import { sleep } from "../harness/postgres_client.ts";
import {
  acknowledgedSoFar,
  type ChaosClients,
  prepareDatabase,
  startClients,
  stopClients,
} from "./chaos_clients.ts";
import {
  type ActiveFault,
  type ChaosContext,
  healEverything,
  injectFault,
} from "./chaos_faults.ts";
import { type ChaosWrite, wallClockMs } from "./chaos_history.ts";
import { CHAOS_TABLE } from "./chaos_writer.ts";
import { findHistoryForks, readHistories } from "./timeline_histories.ts";
import { type ChaosFigures, evaluateRun } from "./chaos_figures.ts";
import {
  describeSchedule,
  describeStep,
  makeSchedule,
  type NemesisSchedule,
  type ScheduleOptions,
} from "./nemesis_schedule.ts";

/** Options of {@link runChaos}. */
export interface ChaosRunOptions {
  readonly seed: number;
  readonly schedule: ScheduleOptions;
  /** Time the healed cluster gets to have one primary and every standby streaming again. */
  readonly recoveryTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** Nodes of the cluster; host 3 of the network runs the network clients. */
const NODES = 3;
const CLIENT_HOST = NODES;
/** Time the final read of the table may take, retries included. */
const FINAL_READ_TIMEOUT_MS = 30_000;
/** Time every client gets to have its first write acknowledged, before and after the faults. */
const CLIENTS_READY_TIMEOUT_MS = 30_000;

/** Runs one chaos run; see the module documentation. Never leaves a namespace behind. */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosFigures> {
  const schedule = makeSchedule(options.seed, options.schedule);
  options.log(describeSchedule(schedule));
  const skews = new Map<number, ClockSkewOptions>();
  const cluster = await ScenarioCluster.start({
    nodes: NODES,
    name: `chaos-${options.seed}`,
    clientHosts: 1,
    gateway: true,
    clockSkew: (index) => skews.get(index) ?? null,
  });
  const context: ChaosContext = {
    cluster,
    clientHosts: [CLIENT_HOST],
    skews,
    skewWindows: [],
    killed: new Set(),
    log: options.log,
  };
  let keepLogs = true;
  try {
    const figures = await runOnCluster(context, schedule, options);
    keepLogs = !figures.ok;
    return figures;
  } finally {
    await cluster.destroy(keepLogs);
  }
}

async function runOnCluster(
  context: ChaosContext,
  schedule: NemesisSchedule,
  options: ChaosRunOptions,
): Promise<ChaosFigures> {
  const { cluster } = context;
  const startedMs = wallClockMs();
  await prepareDatabase(cluster, await cluster.waitHealthy(STARTUP_TIMEOUT_MS));
  const clients = startClients(cluster, CLIENT_HOST);
  let records: ChaosWrite[] = [];
  let outcome: Omit<RunOutcome, "records"> | null = null;
  try {
    await waitForClients(context, clients, true);
    const faults = await runSchedule(context, schedule);
    const exited = await healEverything(context);
    const { primary: finalPrimary, recovered } = await recover(context, options.recoveryTimeoutMs);
    const wroteAgain = await waitForClients(context, clients, false);
    outcome = { faults, exited, finalPrimary, recovered, wroteAgain };
  } finally {
    records = await stopClients(clients);
  }
  const histories = await Promise.all(
    cluster.nodes.map((node) => readHistories(node.id, node.dataDirectory)),
  );
  const finalIds = await readFinalIds(context, outcome.finalPrimary);
  return evaluateRun({
    seed: schedule.seed,
    steps: schedule.steps.length,
    cluster,
    records,
    faults: outcome.faults,
    exitedOnTheirOwn: outcome.exited,
    clientsWroteAfterRecovery: outcome.wroteAgain,
    skewWindows: context.skewWindows,
    finalPrimary: outcome.finalPrimary === null ? null : cluster.node(outcome.finalPrimary).id,
    finalIds,
    recovered: outcome.recovered,
    historyForks: findHistoryForks(histories),
    wallMs: wallClockMs() - startedMs,
  });
}

/**
 * The ids on the final primary, or null when there is none or it cannot be read for 30 s
 * (backends of timed-out writes may hold every connection slot while they wait for a standby).
 */
async function readFinalIds(
  context: ChaosContext,
  primary: number | null,
): Promise<number[] | null> {
  if (primary === null) return null;
  let ids: number[] | null = null;
  try {
    await context.cluster.waitFor(`the final primary's ${CHAOS_TABLE} can be read`, async () => {
      const rows = await context.cluster.sql<{ id: string }>(
        primary,
        `SELECT id FROM ${CHAOS_TABLE}`,
        30_000,
      );
      ids = rows.map((row) => Number(row.id));
      return true;
    }, FINAL_READ_TIMEOUT_MS);
  } catch (error) {
    context.log(`lost writes NOT CHECKED: ${String(error)}`);
  }
  return ids;
}

interface RunOutcome {
  readonly faults: Map<string, number>;
  readonly exited: string[];
  readonly finalPrimary: number | null;
  readonly wroteAgain: boolean;
  readonly recovered: boolean;
  readonly records: ChaosWrite[];
}

/**
 * Injects, holds, heals and waits out each step (a step that overlaps the next is healed with
 * it); returns the faults injected by kind.
 */
async function runSchedule(
  context: ChaosContext,
  schedule: NemesisSchedule,
): Promise<Map<string, number>> {
  const injected = new Map<string, number>();
  const originMs = wallClockMs();
  const log = (line: string) =>
    context.log(`t+${((wallClockMs() - originMs) / 1000).toFixed(1)}s ${line}`);
  const never = new AbortController().signal;
  let held: ActiveFault | null = null;
  for (const step of schedule.steps) {
    let fault: ActiveFault | null = null;
    try {
      fault = await injectFault(context, step);
      injected.set(step.kind, (injected.get(step.kind) ?? 0) + 1);
      log(`inject ${describeStep(step).trim()}: ${fault.detail}`);
    } catch (error) {
      injected.set("injection-error", (injected.get("injection-error") ?? 0) + 1);
      log(`step #${step.step} ${step.kind} failed: ${String(error)}`);
    }
    await sleep(step.holdMs, never);
    if (step.overlapsNext && held === null && fault !== null) {
      held = fault;
      continue;
    }
    // The older fault first: a pause is lifted while the partition after it still holds.
    for (const active of [held, fault]) {
      if (active !== null) await healLogged(active, log);
    }
    held = null;
    await sleep(step.gapMs, never);
  }
  if (held !== null) await healLogged(held, log);
  return injected;
}

async function healLogged(fault: ActiveFault, log: (line: string) => void): Promise<void> {
  try {
    await fault.heal();
    log(`healed ${fault.kind} (${fault.detail})`);
  } catch (error) {
    log(`heal of ${fault.kind} failed (healEverything retries at the end): ${String(error)}`);
  }
}

/**
 * Waits for one primary and every standby streaming. When that does not come: the writable
 * primary if there is one (its rows are still checked), and `recovered` false.
 */
async function recover(
  context: ChaosContext,
  timeoutMs: number,
): Promise<{ primary: number | null; recovered: boolean }> {
  try {
    const primary = await context.cluster.waitHealthy(timeoutMs);
    context.log(
      `recovered: ${context.cluster.node(primary).id} is the primary, every standby streams`,
    );
    return { primary, recovered: true };
  } catch (error) {
    context.log(`NOT RECOVERED within ${timeoutMs} ms: ${String(error)}`);
    return { primary: await context.cluster.primaryIndex(), recovered: false };
  }
}

/**
 * Waits until every client has one more acknowledged write than now; throws if `required`,
 * else returns false (after the recovery, that is a figure: the cluster did not serve writes).
 */
async function waitForClients(
  context: ChaosContext,
  clients: ChaosClients,
  required: boolean,
): Promise<boolean> {
  const before = await acknowledgedSoFar(clients);
  try {
    await context.cluster.waitFor("every client has a write acknowledged", async () => {
      const now = await acknowledgedSoFar(clients);
      return [...now].every(([name, count]) => count > (before.get(name) ?? 0));
    }, CLIENTS_READY_TIMEOUT_MS);
    return true;
  } catch (error) {
    if (required) throw error;
    context.log(`after the recovery, not every client wrote again: ${String(error)}`);
    return false;
  }
}
