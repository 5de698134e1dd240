/**
 * The nemesis's hands: injects one {@link FaultStep} into a running {@link ScenarioCluster} and
 * returns how to heal it, and heals everything at the end of a run. Faults act on real things:
 * SIGKILL and SIGSTOP of real processes, nftables drops in the hosts' namespaces, libfaketime
 * clocks, and the operator CLI.
 *
 * @module
 */

import type { ClockSkewOptions } from "../harness/clock_skew.ts";
import {
  isWritablePrimary,
  POSTGRES_PORT,
  RAFT_PORT,
  type ScenarioCluster,
} from "../scenarios/scenario_cluster.ts";
import type { FaultKind, FaultStep } from "./nemesis_schedule.ts";
import { wallClockMs } from "./chaos_history.ts";
import { sleep } from "../harness/postgres_client.ts";

/** How long cut-and-kill lets the clients commit without the cut standby. */
const CUT_BEFORE_KILL_MS = 3_000;

/** A node's wall clock was skewed from `fromMs` to `untilMs` (null: still skewed). */
export interface SkewWindow {
  readonly node: string;
  readonly fromMs: number;
  untilMs: number | null;
}

/** What the faults act on, and what they leave for the checkers and the figures. */
export interface ChaosContext {
  readonly cluster: ScenarioCluster;
  /** Hosts of the network that run clients, not nodes. */
  readonly clientHosts: readonly number[];
  /** Clock of each node's next agent start (read by the cluster's clockSkew option). */
  readonly skews: Map<number, ClockSkewOptions>;
  readonly skewWindows: SkewWindow[];
  /** Nodes whose agent the nemesis killed and has not started again. */
  readonly killed: Set<number>;
  readonly log: (line: string) => void;
}

/** A fault in effect. */
export interface ActiveFault {
  readonly kind: FaultKind;
  /** What was done, to whom, for the log. */
  readonly detail: string;
  /** Undoes the fault (a no-op for switchovers). */
  readonly heal: () => Promise<void>;
}

/** Injects `step`; the target role is resolved now, from the nodes' own statuses. */
export async function injectFault(context: ChaosContext, step: FaultStep): Promise<ActiveFault> {
  const { primary, standbys } = await resolveRoles(context.cluster);
  const nodes = context.cluster.nodes.map((node) => node.index);
  const standby = standbys.length > 0 ? standbys[step.pick % standbys.length] : undefined;
  const primaryOrAny = primary ?? (nodes[step.pick % nodes.length] as number);
  const target = step.target === "primary" ? primaryOrAny : standby ?? primaryOrAny;
  const others = nodes.filter((index) => index !== target);
  const peer = others[step.pick % others.length] as number;
  switch (step.kind) {
    case "kill":
      return await killFault(context, target);
    case "partition-agent":
      return await networkFault(
        context,
        step.kind,
        `raft port of ${context.cluster.node(target).id}`,
        () => context.cluster.network.partitionPort([target], others, RAFT_PORT),
      );
    case "partition-host": {
      const rest = [...others, ...context.clientHosts];
      return await networkFault(
        context,
        step.kind,
        `host of ${context.cluster.node(target).id}`,
        () => context.cluster.network.partition([target], rest),
      );
    }
    case "one-way": {
      const [from, to] = step.skewMs >= 0 ? [target, peer] : [peer, target];
      return await networkFault(
        context,
        step.kind,
        `packets ${context.cluster.node(from).id} -> ${context.cluster.node(to).id}`,
        () => context.cluster.network.partitionOneWay(from, to),
      );
    }
    case "replication-cut":
      return await networkFault(
        context,
        step.kind,
        `postgres port of ${context.cluster.node(target).id}`,
        () => context.cluster.network.partitionPort([target], others, POSTGRES_PORT),
      );
    case "stall-standby":
      return await stallPostgres(context, standby ?? peer);
    case "freeze-host":
      return await freezeHost(context, target);
    case "clock-skew":
      return await skewClock(context, target, step.skewMs);
    case "switchover":
      return await switchover(context, primary, step.target === "standby" ? standby : undefined);
    case "pause":
      return await pause(context, primaryOrAny);
    case "cut-and-kill": {
      const cut = standby ?? peer;
      const victim = primary !== null && primary !== cut ? primary : nodes.find((i) => i !== cut);
      return await cutAndKill(context, cut, victim ?? primaryOrAny);
    }
  }
}

/** The writable primary (null when none says so) and the other nodes whose agent answers. */
export async function resolveRoles(
  cluster: ScenarioCluster,
): Promise<{ primary: number | null; standbys: number[] }> {
  const statuses = await cluster.statuses();
  const primaryIndex = statuses.findIndex((status) => status !== null && isWritablePrimary(status));
  const primary = primaryIndex >= 0 ? primaryIndex : null;
  const standbys = statuses.flatMap((status, index) =>
    status !== null && index !== primary ? [index] : []
  );
  return { primary, standbys };
}

async function killFault(context: ChaosContext, target: number): Promise<ActiveFault> {
  await context.cluster.killNode(target);
  context.killed.add(target);
  return {
    kind: "kill",
    detail: `SIGKILL of every process of ${context.cluster.node(target).id}`,
    heal: async () => await startAgain(context, target),
  };
}

/** Starts a killed node's agent again (with the clock `skews` says). */
async function startAgain(context: ChaosContext, index: number): Promise<void> {
  context.killed.delete(index);
  if (context.cluster.node(index).agent === null) context.cluster.startAgent(index);
  await Promise.resolve();
}

async function networkFault(
  context: ChaosContext,
  kind: FaultKind,
  detail: string,
  apply: () => Promise<void>,
): Promise<ActiveFault> {
  await apply();
  return { kind, detail, heal: async () => await context.cluster.network.heal() };
}

/**
 * The lost-write recipe of issue 9 (D1): a standby is cut from replication while the clients
 * keep committing (the other standby satisfies the quorum), then the primary dies; the cut
 * standby must not become the new primary, or the rows committed during the cut are gone.
 */
async function cutAndKill(
  context: ChaosContext,
  standby: number,
  primary: number,
): Promise<ActiveFault> {
  const { cluster } = context;
  const others = cluster.nodes.map((node) => node.index).filter((index) => index !== standby);
  await cluster.network.partitionPort([standby], others, POSTGRES_PORT);
  await sleep(CUT_BEFORE_KILL_MS, new AbortController().signal);
  if (primary !== standby) {
    await cluster.killNode(primary);
    context.killed.add(primary);
  }
  return {
    kind: "cut-and-kill",
    detail: `postgres port of ${cluster.node(standby).id} cut for ${CUT_BEFORE_KILL_MS} ms, ` +
      `then SIGKILL of ${cluster.node(primary).id}`,
    heal: async () => {
      await cluster.network.heal();
      await startAgain(context, primary);
    },
  };
}

async function stallPostgres(context: ChaosContext, index: number): Promise<ActiveFault> {
  const network = context.cluster.network;
  const pids: number[] = [];
  for (const pid of await network.processesOf(index)) {
    const name = await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "");
    if (name.trim() === "postgres") pids.push(pid);
  }
  for (const pid of pids) network.freeze(pid);
  return {
    kind: "stall-standby",
    detail: `SIGSTOP of ${pids.length} postgres processes of ${context.cluster.node(index).id}`,
    heal: async () => {
      for (const pid of pids) network.thaw(pid);
      await Promise.resolve();
    },
  };
}

async function freezeHost(context: ChaosContext, index: number): Promise<ActiveFault> {
  const network = context.cluster.network;
  const pids = await network.freezeHost(index);
  return {
    kind: "freeze-host",
    detail: `SIGSTOP of the ${pids.length} processes of ${context.cluster.node(index).id}`,
    heal: async () => void await network.thawHost(index),
  };
}

/** Restarts the node's agent (and so its Postgres) under a wall clock off by `skewMs`. */
async function skewClock(
  context: ChaosContext,
  index: number,
  skewMs: number,
): Promise<ActiveFault> {
  const node = context.cluster.node(index);
  const window: SkewWindow = { node: node.id, fromMs: wallClockMs(), untilMs: null };
  context.skewWindows.push(window);
  context.skews.set(index, { offsetMs: skewMs });
  await context.cluster.killNode(index);
  context.cluster.startAgent(index);
  return {
    kind: "clock-skew",
    detail: `${context.cluster.node(index).id} restarted with its wall clock ${skewMs} ms off`,
    heal: async () => {
      context.skews.delete(index);
      await context.cluster.killNode(index);
      context.cluster.startAgent(index);
      window.untilMs = wallClockMs();
    },
  };
}

async function switchover(
  context: ChaosContext,
  primary: number | null,
  to: number | undefined,
): Promise<ActiveFault> {
  const from = primary ?? 0;
  const node = context.cluster.node(from);
  const args = ["switchover", "--config", node.configPath];
  if (to !== undefined) args.push("--to", context.cluster.node(to).id);
  const output = await context.cluster.hactl(from, args);
  const result = output.success ? "accepted" : `refused: ${output.stderr.trim().slice(0, 200)}`;
  return {
    kind: "switchover",
    detail:
      `hactl switchover${to === undefined ? "" : ` --to ${context.cluster.node(to).id}`} via ${
        context.cluster.node(from).id
      }: ` +
      result,
    heal: () => Promise.resolve(),
  };
}

async function pause(context: ChaosContext, via: number): Promise<ActiveFault> {
  const output = await operator(context, via, "pause");
  return {
    kind: "pause",
    detail: `hactl pause via ${context.cluster.node(via).id}: ${output}`,
    heal: async () => context.log(`hactl resume: ${await resume(context)}`),
  };
}

/** `hactl resume` through the first node that accepts it. */
export async function resume(context: ChaosContext): Promise<string> {
  let last = "no node answered";
  for (const node of context.cluster.nodes) {
    last = await operator(context, node.index, "resume");
    if (last === "accepted") return `accepted via ${node.id}`;
  }
  return last;
}

async function operator(context: ChaosContext, via: number, command: string): Promise<string> {
  const node = context.cluster.node(via);
  const output = await context.cluster.hactl(via, [command, "--config", node.configPath]);
  return output.success ? "accepted" : `refused: ${output.stderr.trim().slice(0, 200)}`;
}

/**
 * Undoes everything a run may have left: partitions, frozen processes, skewed clocks, killed
 * agents, a pause. Returns the nodes whose agent had exited although the nemesis never killed
 * it (an agent must not stop on its own; the caller reports them).
 */
export async function healEverything(context: ChaosContext): Promise<string[]> {
  const cluster = context.cluster;
  await cluster.network.heal();
  for (const node of cluster.nodes) await cluster.network.thawHost(node.index);
  for (const [index] of context.skews) {
    context.skews.delete(index);
    context.killed.add(index);
    await cluster.killNode(index);
  }
  for (const window of context.skewWindows) window.untilMs ??= wallClockMs();
  const exitedOnTheirOwn: string[] = [];
  for (const node of cluster.nodes) {
    if (node.agent !== null) continue;
    if (!context.killed.has(node.index)) exitedOnTheirOwn.push(node.id);
    await startAgain(context, node.index);
  }
  context.log(`hactl resume: ${await resume(context)}`);
  return exitedOnTheirOwn;
}
