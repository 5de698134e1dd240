/**
 * The scheduled switchover on a real 3-node cluster, run as processes: a time in the past is
 * refused with 400; a pending schedule shows in `hactl list`, refuses a second one (409) and
 * is cancelled by `hactl switchover --cancel`; a schedule a few seconds ahead leaves the
 * leader alone until its time, then the candidate is the primary and the key is gone; and a
 * schedule whose leader is killed before its time never runs: the new leader drops it (key
 * removed, outcome "dropped" with the reason) and keeps leading. Nothing keeps running on the
 * operator's side: every `hactl switchover --scheduled` returns at once.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl, testHactlCommand } from "./hactl_process.ts";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import type {
  ScheduledSwitchover,
  SwitchoverOutcome,
} from "../../src/agent/scheduled_switchover.ts";

/** What GET /switchover answers. */
interface SwitchoverDocument {
  readonly scheduled: ScheduledSwitchover | null;
  readonly last: SwitchoverOutcome | null;
}

async function switchoverDocument(cluster: LocalCluster, id: string): Promise<SwitchoverDocument> {
  const response = await fetch(`http://127.0.0.1:${cluster.node(id).apiPort}/switchover`, {
    signal: AbortSignal.timeout(3000),
  });
  assertEquals(response.status, 200);
  return await response.json() as SwitchoverDocument;
}

/** `hactl switchover ARGS --config <node's file>`. */
function switchover(cluster: LocalCluster, via: string, args: string[]) {
  return hactl(["switchover", ...args, "--config", cluster.node(via).configPath]);
}

const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString();

/** Stage: a time in the past is refused by the leader with 400. */
async function pastTimeRefused(cluster: LocalCluster): Promise<void> {
  const result = await switchover(cluster, "node2", ["--scheduled", isoIn(-60_000)]);
  assertEquals(result.code, 1, result.output);
  assert(/HTTP 400\b.*in the past/.test(result.output), result.output);
  assertEquals((await switchoverDocument(cluster, "node1")).scheduled, null);
}

/** Stage: list shows the pending schedule; a second one is refused; --cancel removes it. */
async function pendingShownAndCancelled(cluster: LocalCluster): Promise<void> {
  const at = isoIn(120_000);
  const scheduled = await switchover(cluster, "node3", ["--scheduled", at, "--to", "node3"]);
  assertEquals(scheduled.code, 0, scheduled.output);
  assert(scheduled.output.includes(`switchover scheduled at ${at} from node1 to node3`));
  const list = await hactl(["list", "--config", cluster.node("node2").configPath]);
  assert(list.output.includes(`switchover scheduled at ${at} from node1 to node3`), list.output);
  const second = await switchover(cluster, "node1", ["--scheduled", isoIn(200_000)]);
  assertEquals(second.code, 1, second.output);
  assert(/HTTP 409\b.*hactl switchover --cancel/.test(second.output), second.output);
  const cancel = await switchover(cluster, "node2", ["--cancel"]);
  assertEquals(cancel.code, 0, cancel.output);
  assert(cancel.output.includes(`scheduled switchover at ${at} cancelled`), cancel.output);
  await cluster.waitFor("every member sees the schedule cancelled", async () => {
    for (const id of ["node1", "node2", "node3"]) {
      const document = await switchoverDocument(cluster, id);
      if (document.scheduled !== null || document.last?.outcome !== "cancelled") return false;
    }
    return true;
  }, 10_000);
  const after = await hactl(["list", "--config", cluster.node("node2").configPath]);
  assert(!after.output.includes("switchover scheduled"), after.output);
}

/** Stage: the leader stays until the time, then the candidate is the primary. */
async function runsAtItsTime(cluster: LocalCluster): Promise<void> {
  assertEquals(await cluster.waitUntilHealthy(120_000), "node1");
  const atMs = Date.now() + 4_000;
  const at = new Date(atMs).toISOString();
  const scheduled = await switchover(cluster, "node2", ["--scheduled", at, "--to", "node2"]);
  assertEquals(scheduled.code, 0, scheduled.output);
  // The command returned well before the time: nothing waits on the operator's side.
  assert(Date.now() < atMs - 1_000, "hactl switchover --scheduled returned at once");
  while (Date.now() < atMs - 250) {
    assertEquals(await cluster.primary(), "node1", "the leader is unchanged before the time");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await cluster.waitFor("node2 primary after the scheduled time", async () => {
    return (await cluster.primary()) === "node2";
  }, 60_000);
  assert(Date.now() >= atMs, "not before its time");
  console.log(`scheduled switchover: node2 writable ${Date.now() - atMs} ms after its time`);
  const document = await switchoverDocument(cluster, "node2");
  assertEquals(document.scheduled, null, "the key is removed once it ran");
  assertEquals(document.last?.outcome, "started", JSON.stringify(document.last));
  assertEquals(document.last?.schedule.candidate, "node2");
}

/** How long every member must stay on the leader's timeline to count as settled. */
const SETTLE_MS = 5_000;

/**
 * Waits until the cluster is healthy and every member has been on `leader`'s timeline for
 * {@link SETTLE_MS}: a former primary still on the old timeline could not vote for the other
 * standby (a superseded voter, core/election.ts), so killing the leader before then would
 * leave no electable majority.
 */
async function settledOn(cluster: LocalCluster, leader: string): Promise<void> {
  let sinceMs: number | null = null;
  await cluster.waitFor(`every member on ${leader}'s timeline for a while`, async () => {
    const statuses = await cluster.statuses();
    const timeline = statuses.get(leader)?.postgres.observation?.position?.timeline;
    const same = (await cluster.primary()) === leader && timeline !== undefined &&
      [...statuses.values()].every((status) =>
        status?.postgres.observation?.status === "running" &&
        status.postgres.observation.position?.timeline === timeline &&
        status.raft.leader === leader
      );
    if (!same) return (sinceMs = null, false);
    sinceMs ??= Date.now();
    return Date.now() - sinceMs >= SETTLE_MS;
  }, 180_000);
}

/** Stage: the scheduling leader dies before the time; the new leader drops it, nothing moves. */
async function droppedWhenTheLeaderChanged(cluster: LocalCluster): Promise<void> {
  await settledOn(cluster, "node2");
  const atMs = Date.now() + 12_000;
  // No candidate: a leader that ran it anyway would hand over to the other live standby.
  const scheduled = await switchover(cluster, "node1", [
    "--scheduled",
    new Date(atMs).toISOString(),
  ]);
  assertEquals(scheduled.code, 0, scheduled.output);
  await cluster.kill("node2");
  let primary: string | null = null;
  await cluster.waitFor("a new primary after node2 was killed", async () => {
    primary = await cluster.primary();
    return primary !== null && primary !== "node2";
  }, 30_000);
  assert(Date.now() < atMs, "failover done before the scheduled time");
  const term = (await cluster.status(primary!))!.raft.term;
  await cluster.waitFor("the schedule dropped by the new leader", async () => {
    const document = await switchoverDocument(cluster, primary!);
    return document.scheduled === null && document.last?.outcome === "dropped";
  }, 30_000);
  assert(Date.now() >= atMs, "dropped at its time, not before");
  console.log(`scheduled switchover: dropped by ${primary} ${Date.now() - atMs} ms after its time`);
  const document = await switchoverDocument(cluster, primary!);
  assert(document.last!.reason.includes("no longer node2"), document.last!.reason);
  assertEquals(document.last!.by, primary);
  // Time for a wrongly run transfer to show.
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  assertEquals(await cluster.primary(), primary, "no switchover happened");
  assertEquals((await cluster.status(primary!))!.raft.term, term, "no election either");
  const log = await Deno.readTextFile(cluster.node(primary!).logPath);
  assert(/WARN .*scheduled switchover at .* dropped: the leader is/.test(log), "the log says why");
}

const STAGES: readonly [string, (cluster: LocalCluster) => Promise<void>][] = [
  ["a time in the past is refused with 400", pastTimeRefused],
  ["a pending schedule is listed, blocks a second one, and is cancelled", pendingShownAndCancelled],
  ["the leader stays until the time, then the candidate is the primary", runsAtItsTime],
  [
    "a schedule whose leader died before the time is dropped, never run",
    droppedWhenTheLeaderChanged,
  ],
];

Deno.test({
  name:
    "scheduled switchover: refused in the past, cancelled, run at its time, dropped after a leader change",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-scheduled-switchover-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 24600,
      hactlCommand: testHactlCommand,
    });
    let failed = true;
    try {
      await cluster.startAll(180_000);
      for (const [name, stage] of STAGES) {
        if (!await t.step(name, () => stage(cluster))) throw new Error(`stage failed: ${name}`);
      }
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`scheduled switchover test failed; logs kept in ${directory}`);
    }
  },
});
