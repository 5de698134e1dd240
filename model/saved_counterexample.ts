/**
 * Counterexamples saved as JSON (the list of chosen actions, from the cold start) and
 * replayed through the same model code. A replay whose action is not enabled where the
 * trace says, or that does not end in the recorded violation, reports non-determinism.
 *
 * @module
 */
import type { ClusterModelOptions, ClusterModelState, Scenario } from "./cluster_types.ts";
import {
  applyAction,
  type ClusterAction,
  coldStartState,
  contextOf,
  enabledActions,
} from "./cluster_model.ts";
import { type Counterexample, NonDeterminismError } from "./explorer.ts";
import type { RunSpec } from "./runs.ts";
import { clusterProperties } from "./invariants.ts";

/** What a counterexample file holds. */
export interface SavedCounterexample {
  readonly configuration: string;
  readonly options: ClusterModelOptions;
  readonly scenario: Scenario;
  /** The scripted warm-start prefix (empty for a cold start). */
  readonly script: readonly ClusterAction[];
  /** The actions the explorer chose after the prefix. */
  readonly actions: readonly ClusterAction[];
  readonly property: string;
  readonly message: string;
}

/** The saved form of a violation found by the run `spec` after its start's `script`. */
export function counterexampleOf(
  spec: RunSpec,
  script: readonly ClusterAction[],
  violation: Counterexample<ClusterAction>,
): SavedCounterexample {
  return {
    configuration: spec.options.name,
    options: spec.options,
    scenario: spec.scenario,
    script,
    actions: violation.actions,
    property: violation.property,
    message: violation.message,
  };
}

/** Writes `counterexample` to DIR/<configuration>.json. */
export async function saveCounterexample(
  directory: string,
  counterexample: SavedCounterexample,
): Promise<string> {
  await Deno.mkdir(directory, { recursive: true });
  const file = `${directory}/${counterexample.configuration.replace(/[^A-Za-z0-9_-]+/g, "_")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(counterexample, null, 2) + "\n");
  return file;
}

/** Reads a counterexample file. */
export async function loadCounterexample(file: string): Promise<SavedCounterexample> {
  return JSON.parse(await Deno.readTextFile(file)) as SavedCounterexample;
}

/**
 * Replays a saved counterexample from the cold start and returns the problem its property
 * reports at the end (null if the property holds there: the trace no longer fails).
 */
export function replaySaved(
  saved: SavedCounterexample,
): { states: ClusterModelState[]; problem: string | null } {
  const context = contextOf(saved.options);
  let state = coldStartState(saved.options);
  const states = [state];
  const all = [...saved.script, ...saved.actions];
  all.forEach((action, step) => {
    const wanted = JSON.stringify(action);
    if (!enabledActions(context, state).some((enabled) => JSON.stringify(enabled) === wanted)) {
      throw new NonDeterminismError(
        `replay of ${saved.configuration} diverged at step ${step + 1}: ${wanted} is not enabled`,
      );
    }
    const previous = state;
    state = applyAction(context, state, action);
    states.push(state);
    void previous;
  });
  const property = clusterProperties(context, [saved.property]).find((candidate) =>
    candidate.name === saved.property
  );
  if (property === undefined || property.kind !== "always") {
    throw new Error(`replay: no invariant ${saved.property}`);
  }
  const previous = states[states.length - 2];
  const last = all[all.length - 1];
  const transition = previous !== undefined && last !== undefined
    ? { state: previous, action: last }
    : null;
  return { states, problem: property.check(state, transition) };
}
