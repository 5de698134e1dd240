/**
 * Writer process for raft_storage_crash_test.ts: applies the crash plan's requests to a
 * state directory, continuing from what it finds there, until it is killed.
 *
 * Usage: crash_writer.ts <directory> <maxStep>
 * Prints "started k" before applying step k and "durable k" once the apply resolved.
 *
 * @module
 */

import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { requestFor } from "./crash_plan.ts";

const [directory, maxStepText] = Deno.args;
if (directory === undefined || maxStepText === undefined) {
  throw new Error("usage: crash_writer.ts <directory> <maxStep>");
}
const maxStep = Number(maxStepText);
const storage = await RaftStorage.open(directory);
let step = (await storage.load())?.hardState.term ?? 0;
while (step < maxStep) {
  step += 1;
  // console.log writes synchronously, so "started" is out before the apply begins.
  console.log(`started ${step}`);
  await storage.apply(requestFor(step));
  console.log(`durable ${step}`);
}
storage.close();
