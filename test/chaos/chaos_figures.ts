/**
 * The verdict and the figures of a chaos run: records are tied to nodes (server address to node
 * id), server clocks of skewed nodes are distrusted, the checkers run, and everything is
 * counted: faults injected by kind, writes by outcome and client, lost writes, overlap windows.
 *
 * @module
 */

import type { ScenarioCluster } from "../scenarios/scenario_cluster.ts";
import {
  describeWindow,
  findLostWrites,
  findWriterOverlaps,
  type LostWritesResult,
  type WriterOverlapResult,
} from "./chaos_checkers.ts";
import type { SkewWindow } from "./chaos_faults.ts";
import type { ChaosWrite } from "./chaos_history.ts";
import type { HistoryFork } from "./timeline_histories.ts";

/** A server clock is distrusted this long around a skew (restarts take a moment). */
const SKEW_MARGIN_MS = 5_000;
/** Error texts listed in a report. */
const MAX_ERROR_KINDS = 5;
/** Violations listed in a report (all are counted). */
const MAX_LISTED = 10;

/** What {@link evaluateRun} needs. */
export interface RunData {
  readonly seed: number;
  readonly steps: number;
  readonly cluster: ScenarioCluster;
  readonly records: readonly ChaosWrite[];
  readonly faults: ReadonlyMap<string, number>;
  readonly exitedOnTheirOwn: readonly string[];
  readonly clientsWroteAfterRecovery: boolean;
  readonly skewWindows: readonly SkewWindow[];
  /** Node id of the final primary; null when the cluster did not recover one. */
  readonly finalPrimary: string | null;
  /** Ids on the final primary; null when there was none to read. */
  readonly finalIds: readonly number[] | null;
  /** True when the healed cluster had one primary and every standby streaming in time. */
  readonly recovered: boolean;
  /** Timeline ids with different histories on different nodes (timeline_histories.ts). */
  readonly historyForks: readonly HistoryFork[];
  readonly wallMs: number;
}

/** The figures of a run and its verdict. */
export interface ChaosFigures {
  /** True when nothing was lost, no two writers overlapped, and the cluster recovered. */
  readonly ok: boolean;
  readonly seed: number;
  readonly lost: LostWritesResult | null;
  readonly overlaps: WriterOverlapResult;
  /** Every figure as one printable block. */
  readonly report: string;
}

/** Checks a run and formats its figures. */
export function evaluateRun(data: RunData): ChaosFigures {
  const writes = attributeWrites(data);
  const lost = data.finalIds === null ? null : findLostWrites(writes, data.finalIds);
  const overlaps = findWriterOverlaps(writes);
  const safe = lost !== null && lost.lost.length === 0 && lost.phantom.length === 0 &&
    overlaps.windows.length === 0 && overlaps.stale.length === 0 && overlaps.forked.length === 0;
  const ok = safe && data.historyForks.length === 0 && data.recovered &&
    data.exitedOnTheirOwn.length === 0;
  return {
    ok,
    seed: data.seed,
    lost,
    overlaps,
    report: formatReport(data, writes, lost, overlaps, ok),
  };
}

/** Node ids instead of server addresses; no server clock from a node while it was skewed. */
function attributeWrites(data: RunData): ChaosWrite[] {
  const idByAddress = new Map(data.cluster.nodes.map((node) => [node.address, node.id]));
  return data.records.map((write) => {
    const node = write.node === null ? null : idByAddress.get(write.node) ?? write.node;
    const skewed = data.skewWindows.some((window) =>
      window.node === node && write.endMs >= window.fromMs - SKEW_MARGIN_MS &&
      write.startMs <= (window.untilMs ?? Infinity) + SKEW_MARGIN_MS
    );
    return { ...write, node, serverMs: skewed ? null : write.serverMs };
  });
}

function formatReport(
  data: RunData,
  writes: readonly ChaosWrite[],
  lost: LostWritesResult | null,
  overlaps: WriterOverlapResult,
  ok: boolean,
): string {
  const faults = [...data.faults].sort().map(([kind, count]) => `${kind} ${count}`).join(", ");
  const lines = [
    `chaos figures, seed ${data.seed} (${data.steps} steps, ${
      (data.wallMs / 1000).toFixed(0)
    } s): ` +
    (ok ? "OK" : "VIOLATIONS"),
    `  faults injected: ${faults === "" ? "none" : faults}`,
    `  writes: ${outcomeCounts(writes)}`,
    ...clientLines(writes),
    ...commonErrors(writes),
    lost === null
      ? "  lost: NOT CHECKED (no primary after the recovery, or its table could not be read)"
      : `  lost acknowledged writes: ${lost.lost.length}; phantom failed writes: ` +
        `${lost.phantom.length}; unknown outcomes present ${lost.unknownPresent}, absent ` +
        `${lost.unknownAbsent}`,
    `  overlap windows: ${overlaps.windows.length}; stale-timeline writes: ` +
    `${overlaps.stale.length}; forked timelines: ${overlaps.forked.length}`,
    `  reigns (node@timeline, by first write): ${overlaps.reigns.join(" ")}`,
    `  timeline ids with two histories on the nodes: ${data.historyForks.length}`,
    `  recovered: ${data.recovered}; final primary: ${data.finalPrimary ?? "none"}; ` +
    `every client wrote after the recovery: ` +
    `${data.clientsWroteAfterRecovery}; agents that exited on their own: ` +
    `${data.exitedOnTheirOwn.join(", ") || "none"}`,
  ];
  for (const write of lost?.lost.slice(0, MAX_LISTED) ?? []) {
    lines.push(
      `  LOST id ${write.id} (${write.client}) acknowledged by ${write.node} on ` +
        `timeline ${write.timeline} at ${new Date(write.endMs).toISOString()}`,
    );
  }
  for (const window of overlaps.windows.slice(0, MAX_LISTED)) {
    lines.push(`  OVERLAP ${describeWindow(window)}`);
  }
  for (const { write, newer } of overlaps.stale.slice(0, MAX_LISTED)) {
    lines.push(
      `  STALE id ${write.id}: ${write.node} on timeline ${write.timeline} after ` +
        `${newer.node} wrote id ${newer.id} on timeline ${newer.timeline}`,
    );
  }
  for (const fork of overlaps.forked) {
    lines.push(`  FORKED timeline ${fork.timeline}: ${fork.nodes.join(", ")}`);
  }
  for (const fork of data.historyForks) {
    const variants = fork.variants.map((variant) =>
      `${variant.nodes.join("+")} forked at "${variant.forkLine}"`
    );
    lines.push(`  HISTORY FORK timeline ${fork.timeline}: ${variants.join(" vs ")}`);
  }
  lines.push(`  replay: HACTL_CHAOS_SEED=${data.seed} (same step count)`);
  return lines.join("\n");
}

function outcomeCounts(writes: readonly ChaosWrite[]): string {
  const count = (outcome: string) => writes.filter((write) => write.outcome === outcome).length;
  return `${writes.length} attempted, ${count("acknowledged")} acknowledged, ` +
    `${count("unknown")} unknown, ${count("failed")} failed`;
}

function clientLines(writes: readonly ChaosWrite[]): string[] {
  const clients = [...new Set(writes.map((write) => write.client))].sort();
  return clients.map((client) =>
    `    ${client}: ${outcomeCounts(writes.filter((write) => write.client === client))}`
  );
}

/** The most frequent error texts of failed and unknown writes (numbers elided), with counts. */
function commonErrors(writes: readonly ChaosWrite[]): string[] {
  const counts = new Map<string, number>();
  for (const write of writes) {
    if (write.error === null) continue;
    const key = `${write.outcome}: ${write.error.replace(/[0-9]+/g, "N").slice(0, 120)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_ERROR_KINDS)
    .map(([text, count]) => `    ${count} x ${text}`);
}
