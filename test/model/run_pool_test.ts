/**
 * The model check's worker pool gives what one thread gives: the same judgement, the same
 * state counts and the same printed counterexample, in the jobs' order (model/run_pool.ts).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ModelJob } from "../../model/model_job.ts";
import { runModelJobs } from "../../model/run_pool.ts";
import { livenessRuns, modelCheckRuns } from "../../model/runs.ts";

function indexOf(runs: readonly { options: { name: string } }[], name: string): number {
  const index = runs.findIndex((spec) => spec.options.name === name);
  if (index < 0) throw new Error(`no run named ${name}`);
  return index;
}

Deno.test("two workers give the results of one thread, in the jobs' order", async () => {
  const runs = modelCheckRuns(false);
  const job = (kind: ModelJob["kind"], index: number): ModelJob => ({
    kind,
    index,
    large: false,
    symmetry: true,
  });
  const jobs = [
    job("safety", indexOf(runs, "excess clock drift (model)")),
    job("safety", indexOf(runs, "real clock-swing")),
    job("liveness", indexOf(livenessRuns(false), "liveness preVoteCountedInOwnTerm")),
  ];
  const inThread = await runModelJobs(jobs, 1);
  const inWorkers = await runModelJobs(jobs, 2);
  const summary = (results: typeof inThread) =>
    results.map((result) => ({
      kind: result.kind,
      index: result.index,
      ok: result.ok,
      result: result.result,
      states: result.report.states,
      printed: result.printed,
    }));
  assertEquals(summary(inWorkers), summary(inThread));
  assert(inThread.every((result) => result.ok), JSON.stringify(summary(inThread)));
  assert(/caught: S1 one writer/.test(inThread[0]!.result), inThread[0]!.result);
  assert(inThread[0]!.printed.some((text) => text.includes("S1 one writer")));
  assertEquals(inThread[1]!.result, "pass (exhaustive)");
});
