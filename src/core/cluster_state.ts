/**
 * The replicated state machine: applying committed commands to the cluster state.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { ClusterState, Command, Membership } from "./types.ts";

/** Keys of the key-value map are at most this long. */
export const MAX_KEY_LENGTH = 128;
/** Values of the key-value map are at most this long. */
export const MAX_VALUE_LENGTH = 4096;
/** Keys of the key-value map: printable ASCII without spaces. */
export const KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * What is wrong with a key of the key-value map, or null when it is acceptable. The one
 * check shared by the REST API (400), the core (refused proposal) and the wire codec, so
 * that a key one of them accepts is never refused by another.
 */
export function keyValueKeyProblem(key: string): string | null {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    return `expected 1 to ${MAX_KEY_LENGTH} characters, got ${key.length}`;
  }
  if (!KEY_PATTERN.test(key)) {
    return `expected printable ASCII without spaces, got ${JSON.stringify(key.slice(0, 60))}`;
  }
  // Writing "__proto__" into a plain object replaces its prototype instead of adding a key.
  if (key === "__proto__") return `"__proto__" is reserved`;
  return null;
}

/** What is wrong with a value of the key-value map (null deletes), or null when acceptable. */
export function keyValueValueProblem(value: string | null): string | null {
  if (value !== null && value.length > MAX_VALUE_LENGTH) {
    return `expected at most ${MAX_VALUE_LENGTH} characters, got ${value.length}`;
  }
  return null;
}

/** The empty membership of a node that belongs to no cluster yet. */
export const EMPTY_MEMBERSHIP: Membership = { voters: [], learners: [] };

/** The cluster state before any entry is applied. */
export const INITIAL_CLUSTER_STATE: ClusterState = {
  membership: EMPTY_MEMBERSHIP,
  paused: false,
  syncMode: "quorum",
  switchoverTarget: null,
  keyValues: {},
};

/** Returns the state after applying one committed command. Never mutates `state`. */
export function applyCommand(state: ClusterState, command: Command): ClusterState {
  switch (command.kind) {
    case "noop":
      return state;
    case "membership":
      return { ...state, membership: command.membership };
    case "pause":
      return { ...state, paused: command.paused };
    case "sync-mode":
      return { ...state, syncMode: command.mode };
    case "switchover":
      return { ...state, switchoverTarget: command.target };
    case "kv": {
      assert(command.key.length <= MAX_KEY_LENGTH, `key-value key longer than ${MAX_KEY_LENGTH}`);
      // Object.fromEntries defines own properties, so a key such as "__proto__" stays a key.
      const kept = Object.entries(state.keyValues).filter(([key]) => key !== command.key);
      if (command.value !== null) kept.push([command.key, command.value]);
      const keyValues: Record<string, string> = Object.fromEntries(kept);
      return { ...state, keyValues };
    }
  }
}

/** The membership a command sets, or null when the command is not a membership change. */
export function membershipOf(command: Command): Membership | null {
  return command.kind === "membership" ? command.membership : null;
}
