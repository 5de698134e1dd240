// Proves the S2 check catches a write acknowledged by a deposed primary, and what keeps S2 in
// the real configuration: with the fence leaving waiting commits waiting (the model option
// fenceKeepsWaitingCommits, a fence by read-only alone) and a standby voting while its receiver
// still streams from the old primary (voteWhileReceivingWal), a write made before the fence is
// acknowledged after the new primary's promotion. The model check finds this from the
// fenced-write start (control fenceKeepsWaitingCommits); here the whole schedule is scripted
// from steady, and the same script with the fence failing waiting commits acknowledges
// nothing late.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { NO_FAULTS } from "../../src/core/mod.ts";
import { type ClusterAction, contextOf } from "../../model/cluster_model.ts";
import type { ClusterModelOptions } from "../../model/cluster_types.ts";
import { DEFAULT_BOUNDS } from "../../model/runs.ts";
import { warmStart } from "../../model/warm_start.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";
import { clusterProperties, INVARIANTS } from "../../model/invariants.ts";

function options(fenceKeepsWaitingCommits: boolean): ClusterModelOptions {
  return {
    name: "S2 scripted control",
    nodeCount: 3,
    faults: { ...NO_FAULTS, voteWhileReceivingWal: true },
    bounds: { ...DEFAULT_BOUNDS, dropMessages: true, fenceKeepsWaitingCommits },
    start: "warm",
    invariants: [INVARIANTS.noAckOnDeposed],
  };
}

/** From steady: a write on the primary p, then p cut off; a elected by b; a promotes; b streams from p. */
function lateAcknowledgement(fenceKeepsWaitingCommits: boolean): ScriptedRun {
  const modelOptions = options(fenceKeepsWaitingCommits);
  const scripted = new ScriptedRun(
    contextOf(modelOptions),
    warmStart(modelOptions, "steady").state,
  );
  const p = scripted.state.nodes.findIndex((node) => node.core?.role === "leader");
  const [a, b] = [0, 1, 2].filter((node) => node !== p) as [number, number];
  const ids = scripted.context.nodeIds;
  scripted.run({ kind: "write", node: p });
  const between = (action: ClusterAction) => {
    const sent = scripted.messageOf(action);
    if (action.kind !== "deliver" || sent === null) return false;
    // a's requests to b, and b's answers; b's own campaign is lost (so the vote is not split).
    const answer = sent.kind === "vote-response" || sent.kind === "append-response";
    return answer
      ? sent.from === ids[b] && sent.to === ids[a]
      : sent.from === ids[a] && sent.to === ids[b];
  };
  // Every supervisor but b's acts (b's standby keeps streaming from p); only a and b talk.
  const supervise = (action: ClusterAction) => action.kind === "reconcile" && action.node !== b;
  const promoted = () =>
    scripted.state.latestPromotion > scripted.state.nodes[p]!.postgres.promotion;
  for (let step = 0; !promoted(); step++) {
    if (step >= 400) throw new Error("script: a was not elected and promoted");
    if (scripted.can(supervise)) scripted.take(supervise, "let a supervisor act");
    else if (scripted.can(between)) scripted.take(between, "deliver between a and b");
    else if (scripted.state.messages.length > 0) scripted.take((x) => x.kind === "drop", "drop");
    else if (scripted.can((x) => x.kind === "tick" && x.node === a)) {
      scripted.take((x) => x.kind === "tick" && x.node === a, "run a's clock ahead");
    } else scripted.take((x) => x.kind === "tick-all", "let time pass");
  }
  assertEquals(scripted.state.nodes[b]!.postgres.source, p);
  scripted.run({ kind: "stream", node: b });
  return scripted;
}

function s2Problem(scripted: ScriptedRun, fenceKeepsWaitingCommits: boolean): string | null {
  const property = clusterProperties(contextOf(options(fenceKeepsWaitingCommits)), [
    INVARIANTS.noAckOnDeposed,
  ])[0]!;
  return property.kind === "always" ? property.check(scripted.state, null) : null;
}

Deno.test("S2 catches a commit acknowledged by a fenced, deposed primary after a newer promotion", () => {
  const scripted = lateAcknowledgement(true);
  const p = scripted.state.nodes.findIndex((node) => node.postgres.fenced);
  assert(p >= 0, "the old primary must be fenced when its write is acknowledged");
  const problem = s2Problem(scripted, true);
  assert(problem !== null && problem.includes("deposed primary"), `S2 not broken: ${problem}`);
});

Deno.test("the same schedule with the fence failing waiting commits acknowledges nothing late", () => {
  const scripted = lateAcknowledgement(false);
  assertEquals(s2Problem(scripted, false), null);
  assertEquals(scripted.state.acked.length, 0);
});
