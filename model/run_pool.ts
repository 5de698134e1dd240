/**
 * Runs the model check's jobs on a pool of workers (one isolate each, model/run_worker.ts):
 * the runs are independent and deterministic, so each core takes the next job as it frees
 * up and the results come back in the jobs' order, the same as in one thread. One worker
 * (or none asked for) runs them in this thread.
 *
 * @module
 */
import { type ModelJob, type ModelJobResult, runModelJob } from "./model_job.ts";

/** Workers used unless `--workers` says otherwise: one per core, at most this many. */
export const MAX_DEFAULT_WORKERS = 4;

/** One per core reported by the runtime, between 1 and {@link MAX_DEFAULT_WORKERS}. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, MAX_DEFAULT_WORKERS));
}

/** Runs every job, on `workerCount` workers when above 1; the results in the jobs' order. */
export async function runModelJobs(
  jobs: readonly ModelJob[],
  workerCount: number,
): Promise<ModelJobResult[]> {
  if (workerCount <= 1 || jobs.length <= 1) {
    const results: ModelJobResult[] = [];
    for (const job of jobs) results.push(await runModelJob(job));
    return results;
  }
  const results: ModelJobResult[] = new Array(jobs.length);
  let next = 0;
  const url = new URL("./run_worker.ts", import.meta.url).href;
  const workers = Array.from(
    { length: Math.min(workerCount, jobs.length) },
    () => new Worker(url, { type: "module" }),
  );
  await Promise.all(workers.map(async (worker) => {
    try {
      while (next < jobs.length) {
        const index = next++;
        results[index] = await runOnWorker(worker, jobs[index]!);
      }
    } finally {
      worker.terminate();
    }
  }));
  return results;
}

/** Sends one job to `worker` and waits for its answer; a job that threw rejects. */
function runOnWorker(worker: Worker, job: ModelJob): Promise<ModelJobResult> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<{ result?: ModelJobResult; error?: string }>) => {
      if (event.data.result !== undefined) resolve(event.data.result);
      else {reject(
          new Error(`${job.kind} run ${job.index} failed in its worker: ${event.data.error}`),
        );}
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`${job.kind} run ${job.index}: worker error: ${event.message}`));
    };
    worker.postMessage(job);
  });
}
