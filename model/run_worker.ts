/**
 * The model check's worker (model/run_pool.ts): runs each job it is sent and posts back the
 * result; an exception is posted as an error text, so the pool fails the job, not the run.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { type ModelJob, runModelJob } from "./model_job.ts";

self.onmessage = async (event: MessageEvent<ModelJob>) => {
  try {
    self.postMessage({ result: await runModelJob(event.data) });
  } catch (error) {
    self.postMessage({
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }
};
