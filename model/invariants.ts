/**
 * The safety properties checked on every reached state of the cluster model, and the
 * non-vacuity (sometimes) properties that show the bounded exploration reaches the
 * situations the safety properties talk about.
 *
 * The oracle is independent of the code it judges: it reads the cores' plain state and
 * their one output that acts on the world (`decidePostgresRole`: may this Postgres be
 * primary), and uses its own definitions (spec.ts) — never the core's comparison, lease,
 * log or membership helpers.
 *
 * @module
 */
import { decidePostgresRole, type NodeState, type PostgresRole } from "../src/core/mod.ts";
import type { Property, Transition } from "./explorer.ts";
import {
  type ClusterModelState,
  COLD_START_SNAPSHOT_INDEX,
  type PostgresModel,
} from "./cluster_types.ts";
import type { ClusterAction } from "./cluster_model.ts";
import type { ModelContext } from "./cluster_step.ts";
import { hasNoData, isWritable, parseSynchronousStandbyNames } from "./postgres_model.ts";
import {
  atLeastAsUpToDate,
  isMajorityOf,
  isWalPrefix,
  type SpecLog,
  specMembership,
  specTermAt as termAt,
  subsetsOf,
} from "./spec.ts";

type Check = (
  context: ModelContext,
  state: ClusterModelState,
  previous: Transition<ClusterModelState, ClusterAction> | null,
) => string | null;

/** Invariant names, as used by controls and the command line. */
export const INVARIANTS = {
  electionSafety: "election safety",
  logMatching: "log matching",
  leaderCompleteness: "leader completeness",
  committedNeverLost: "committed entries never lost",
  durability: "D1 acknowledged durability",
  mostAdvanced: "D2 most-advanced survivor",
  oneWriter: "S1 one writer",
  noAckOnDeposed: "S2 no ack on deposed primary",
  syncQuorum: "sync set meets every electing majority",
  syncFormula: "sync set formula (conformance)",
  coreAssertions: "core assertions hold",
} as const;

const CHECKS: Record<string, Check> = {
  [INVARIANTS.electionSafety]: electionSafety,
  [INVARIANTS.logMatching]: logMatching,
  [INVARIANTS.leaderCompleteness]: leaderCompleteness,
  [INVARIANTS.committedNeverLost]: committedNeverLost,
  [INVARIANTS.durability]: acknowledgedDurability,
  [INVARIANTS.mostAdvanced]: mostAdvancedSurvivor,
  [INVARIANTS.oneWriter]: oneWriter,
  [INVARIANTS.noAckOnDeposed]: noAckOnDeposedPrimary,
  [INVARIANTS.syncQuorum]: syncSetMeetsEveryMajority,
  [INVARIANTS.syncFormula]: syncSetFormula,
  [INVARIANTS.coreAssertions]: (_context, state) => state.coreFailure,
};

/** The properties of a model instance: the selected invariants plus the non-vacuity checks. */
export function clusterProperties(
  context: ModelContext,
  selected: readonly string[] | "all",
): Property<ClusterModelState, ClusterAction>[] {
  const names = selected === "all" ? Object.keys(CHECKS) : selected;
  const properties: Property<ClusterModelState, ClusterAction>[] = names.map((name) => {
    const check = CHECKS[name];
    if (check === undefined) {
      throw new Error(`model: unknown invariant "${name}"; known: ${Object.keys(CHECKS)}`);
    }
    return {
      kind: "always",
      name,
      check: (state, previous) => {
        if (state.transientViolation?.startsWith(`${name}: `)) {
          return state.transientViolation.slice(name.length + 2);
        }
        return check(context, state, previous);
      },
    };
  });
  return [...properties, ...sometimesProperties()];
}

/** The selected state invariants as one check for intermediate states of macro actions ("name: problem"). */
export function stateCheckpoint(
  context: Omit<ModelContext, "checkpoint">,
  selected: readonly string[] | "all",
): (state: ClusterModelState) => string | null {
  const names = selected === "all" ? Object.keys(CHECKS) : selected;
  const full: ModelContext = { ...context, checkpoint: () => null };
  return (state) => {
    for (const name of names) {
      const problem = CHECKS[name]?.(full, state, null) ?? null;
      if (problem !== null) return `${name}: ${problem}`;
    }
    return null;
  };
}

/** Names of the non-vacuity properties a run can list in its `mustReach` beyond the basic four. */
export const REACHABLE = {
  leaderCompacts: "a leader's log is compacted",
  snapshotInstalled: "InstallSnapshot applied",
  postgresAbsent: "a core sees its Postgres absent",
  recloned: "an absent Postgres is re-cloned",
  leaderReplayBehind: "a leader's standby has not replayed all it received",
  quorumReturns: "a writable primary returns to quorum mode",
  learnerPromoted: "a learner is promoted to voter",
  postgresUnreadable: "a core sees its Postgres unreadable",
  unreadableFenced: "an unreadable server is fenced by a node that does not lead",
} as const;

/** Non-vacuity: the exploration must reach these, or its bounds are too tight to mean anything. */
export function sometimesProperties(): Property<ClusterModelState, ClusterAction>[] {
  return [
    {
      kind: "sometimes",
      name: "a leader is elected",
      holds: (state) => cores(state).some((core) => core.role === "leader"),
    },
    {
      kind: "sometimes",
      name: "a primary is promoted",
      holds: (state) => state.latestPromotion > 0,
    },
    {
      kind: "sometimes",
      name: "a write is acknowledged",
      holds: (state) => state.acked.length > 0,
    },
    {
      kind: "sometimes",
      name: "a failover completes",
      holds: (state) =>
        state.nodes.some((node) => isWritable(node.postgres) && node.postgres.promotion >= 2),
    },
    {
      kind: "sometimes",
      name: REACHABLE.leaderCompacts,
      holds: (state) =>
        cores(state).some((core) =>
          core.role === "leader" && (core.snapshot?.lastIndex ?? 0) > COLD_START_SNAPSHOT_INDEX
        ),
    },
    {
      kind: "sometimes",
      name: REACHABLE.snapshotInstalled,
      holds: (state) => state.snapshotInstalled,
    },
    {
      kind: "sometimes",
      name: REACHABLE.postgresAbsent,
      holds: (state) => cores(state).some((core) => core.postgres?.status === "absent"),
    },
    {
      kind: "sometimes",
      // Only a failed rewind makes a directory absent: after one, none is absent any more.
      name: REACHABLE.recloned,
      holds: (state) =>
        state.failedRewinds > 0 && state.nodes.every((node) => !hasNoData(node.postgres)),
    },
    {
      kind: "sometimes",
      name: REACHABLE.quorumReturns,
      // The asynchronous start begins with every core in asynchronous mode.
      holds: (state) =>
        state.nodes.some((node) =>
          node.core?.applied.syncMode === "quorum" && isWritable(node.postgres) &&
          node.postgres.synchronousStandbyNames.startsWith("ANY")
        ),
    },
    {
      kind: "sometimes",
      name: REACHABLE.learnerPromoted,
      holds: (state) => cores(state).some(promotedLearner),
    },
    {
      kind: "sometimes",
      name: REACHABLE.postgresUnreadable,
      holds: (state) => cores(state).some((core) => core.postgres?.status === "unreadable"),
    },
    {
      kind: "sometimes",
      // The hand-over of a leader whose reads fail, up to the fence of its still-running server.
      name: REACHABLE.unreadableFenced,
      holds: (state) =>
        state.nodes.some((node) =>
          node.postgres.unreadable === true && node.postgres.status === "running" &&
          node.postgres.fenced && node.core !== null && node.core.role !== "leader"
        ),
    },
    {
      kind: "sometimes",
      name: REACHABLE.leaderReplayBehind,
      holds: (state) =>
        cores(state).some((core) =>
          core.role === "leader" && core.postgres?.status === "running" &&
          core.postgres.inRecovery && !core.postgres.replayCaughtUp
        ),
    },
  ];
}

/** True when a voter of the core's membership was a learner in an earlier entry of its log. */
function promotedLearner(core: NodeState): boolean {
  const learners = new Set<string>();
  for (const entry of core.log) {
    if (entry.command.kind !== "membership") continue;
    for (const learner of entry.command.membership.learners) learners.add(learner);
  }
  return core.membership.voters.some((voter) => learners.has(voter));
}

/** The running cores of `state`; every check asks, so the last state's list is kept (states are never mutated). */
function cores(state: ClusterModelState): readonly NodeState[] {
  if (lastCores.state === state) return lastCores.cores;
  const running: NodeState[] = [];
  for (const node of state.nodes) if (node.core !== null) running.push(node.core);
  lastCores = { state, cores: running };
  return running;
}

let lastCores: { state: ClusterModelState | null; cores: readonly NodeState[] } = {
  state: null,
  cores: [],
};

/** `decidePostgresRole` of a core, kept per core object (cores are never mutated; it reads only the core). */
function roleOf(core: NodeState): PostgresRole {
  let role = roles.get(core);
  if (role === undefined) {
    role = decidePostgresRole(core);
    roles.set(core, role);
  }
  return role;
}

const roles = new WeakMap<NodeState, PostgresRole>();

/** At most one leader per term, ever (a ghost record of every election). */
function electionSafety(_context: ModelContext, state: ClusterModelState): string | null {
  if (state.electionClash !== null) return state.electionClash;
  const leaders = cores(state).filter((core) => core.role === "leader");
  for (const leader of leaders) {
    const other = leaders.find((core) => core !== leader && core.term === leader.term);
    if (other) return `${leader.id} and ${other.id} both lead term ${leader.term}`;
  }
  return null;
}

/** Two logs with an entry of the same index and term agree on every entry up to it. */
function logMatching(_context: ModelContext, state: ClusterModelState): string | null {
  const all = cores(state);
  for (let position = 0; position < all.length; position++) {
    const first = all[position]!;
    for (let later = position + 1; later < all.length; later++) {
      const second = all[later]!;
      let matched = false;
      const top = Math.min(lastIndexOf(first), lastIndexOf(second));
      for (let index = top; index > 0; index--) {
        const left = termAt(first, index);
        const right = termAt(second, index);
        if (left === null || right === null) break;
        if (left === right) matched = true;
        else if (matched) {
          return `${first.id} and ${second.id} agree at a later index but differ at ${index} (terms ${left}, ${right})`;
        }
      }
    }
  }
  return null;
}

function lastIndexOf(core: NodeState): number {
  return core.log[core.log.length - 1]?.index ?? core.snapshot?.lastIndex ?? 0;
}

/**
 * A leader holds every entry any node knows committed, when that node's term is not newer
 * (commits learned in terms up to the leader's were made by this or earlier leaders); and
 * every node that could still win an election holds every entry ever committed.
 */
function leaderCompleteness(context: ModelContext, state: ClusterModelState): string | null {
  const all = cores(state);
  for (const leader of all) {
    if (leader.role !== "leader") continue;
    for (const node of all) {
      if (node.term > leader.term) continue;
      for (let index = (node.snapshot?.lastIndex ?? 0) + 1; index <= node.commitIndex; index++) {
        const committed = termAt(node, index);
        const held = termAt(leader, index);
        if (committed === null || index <= (leader.snapshot?.lastIndex ?? 0)) continue;
        if (held !== committed) {
          return `leader ${leader.id} (t${leader.term}) has term ${held} at ${index}, ` +
            `which ${node.id} knows committed with term ${committed}`;
        }
      }
    }
  }
  return electableHoldsCommitted(context, state);
}

/**
 * The inductive form of leader completeness, which sees a bad commit the moment it is made
 * rather than elections later: any node (running, or crashed with what its disk holds)
 * whose log is at least as up to date as a majority of the voters, in every voter set any
 * node holds, could collect those votes, so it must hold every entry ever committed. In
 * Raft this holds because a committed entry sits on a majority, every winner's log is at
 * least as up to date as one of them, and logs with a newer last term descend from a
 * leader that had the entry. Raft's figure 8 (an old-term entry committed by counting
 * replicas) breaks it while the node holding a newer conflicting entry is still electable.
 */
function electableHoldsCommitted(
  context: ModelContext,
  state: ClusterModelState,
): string | null {
  if (state.committed.length === 0) return null;
  // Loops rather than map/filter/spread: this runs on every intermediate state of a round.
  const nodes = state.nodes;
  const views: SpecLog[] = [];
  const voterLists: (readonly string[])[] = [];
  const voterSets = new Map<string, readonly string[]>();
  for (let index = 0; index < nodes.length; index++) {
    const node = nodes[index]!;
    const view: SpecLog = node.core ?? { snapshot: node.disk.snapshot, log: node.disk.entries };
    const voters = specMembership(view).voters;
    views.push(view);
    voterLists.push(voters);
    if (voters.length > 0) voterSets.set(voterSetKey(voters), voters);
  }
  for (let index = 0; index < views.length; index++) {
    const candidate = views[index]!;
    const id = context.nodeIds[index]!;
    if (!voterLists[index]!.includes(id)) continue;
    if (!winsEveryVoterSet(context, views, candidate, voterSets)) continue;
    for (const entry of state.committed) {
      if (entry.index <= (candidate.snapshot?.lastIndex ?? 0)) continue;
      const held = termAt(candidate, entry.index);
      if (held !== entry.term) {
        return `${id} could win an election (its log is as up to date as a majority's) but ` +
          `has ${held === null ? "no entry" : `term ${held}`} at ${entry.index}, where term ` +
          `${entry.term} was committed in term ${entry.knownInTerm}`;
      }
    }
  }
  return null;
}

/** True when `candidate`'s log is at least as up to date as a majority of every voter set. */
function winsEveryVoterSet(
  context: ModelContext,
  views: readonly SpecLog[],
  candidate: SpecLog,
  voterSets: ReadonlyMap<string, readonly string[]>,
): boolean {
  for (const voters of voterSets.values()) {
    let granting = 0;
    for (const voter of voters) {
      const view = views[context.nodeIds.indexOf(voter)];
      if (view !== undefined && atLeastAsUpToDate(candidate, view)) granting++;
    }
    if (granting * 2 <= voters.length) return false;
  }
  return true;
}

/** A voter list as a set ("n1,n3"), kept per list object (lists are never mutated). */
function voterSetKey(voters: readonly string[]): string {
  let key = voterSetKeys.get(voters);
  if (key === undefined) {
    key = [...voters].sort().join(",");
    voterSetKeys.set(voters, key);
  }
  return key;
}

const voterSetKeys = new WeakMap<readonly string[], string>();

/**
 * Across time: an entry once known committed (ghost record, kept even after every node that
 * knew it crashed) stays at its index on every core that knows that index committed, and is
 * held by every leader of a later term than the one it was committed in.
 */
function committedNeverLost(_context: ModelContext, state: ClusterModelState): string | null {
  const all = cores(state);
  for (const entry of state.committed) {
    for (const core of all) {
      const held = termAt(core, entry.index);
      if (entry.index <= (core.snapshot?.lastIndex ?? 0) || held === entry.term) continue;
      if (core.commitIndex >= entry.index) {
        return `${core.id} knows index ${entry.index} committed with term ${held}, ` +
          `but term ${entry.term} was committed there in term ${entry.knownInTerm}`;
      }
      if (core.role === "leader" && core.term > entry.knownInTerm) {
        return `leader ${core.id} (t${core.term}) has term ${held} at ${entry.index}, ` +
          `where term ${entry.term} was committed in term ${entry.knownInTerm}`;
      }
    }
  }
  return null;
}

/**
 * D1: every write acknowledged under quorum sync is in the WAL of every writable primary
 * (so of every later promotion). Asynchronous mode promises no durability across failover.
 */
function acknowledgedDurability(context: ModelContext, state: ClusterModelState): string | null {
  for (const [index, node] of state.nodes.entries()) {
    if (!isWritable(node.postgres)) continue;
    for (const acked of state.acked) {
      if (!acked.durable) continue;
      if (!node.postgres.wal.some((record) => record.write === acked.write)) {
        return `acknowledged write w${acked.write} is missing on primary ${context.nodeIds[index]}`;
      }
    }
  }
  return null;
}

/**
 * D2: at promotion, the new primary is not behind any voter that granted it its vote, as
 * that voter's WAL was when it granted: the voter's WAL is not a longer WAL of which the
 * candidate's is a prefix. (A voter whose WAL diverged from the candidate's holds only
 * records no quorum acknowledged; D1 judges those.)
 */
function mostAdvancedSurvivor(
  context: ModelContext,
  state: ClusterModelState,
  previous: Transition<ClusterModelState, ClusterAction> | null,
): string | null {
  if (previous === null) return null;
  for (const [index, node] of state.nodes.entries()) {
    const before = previous.state.nodes[index];
    if (
      before === undefined || node.core === null ||
      node.postgres.promotion === before.postgres.promotion
    ) continue;
    const wal = before.postgres.wal;
    for (const [voter, other] of previous.state.nodes.entries()) {
      const grant = other.grant;
      if (grant === null || grant.candidate !== index || grant.term !== node.core.term) continue;
      if (grant.wal.length > wal.length && isWalPrefix(wal, grant.wal)) {
        return `${context.nodeIds[index]} promoted with ${wal.length} WAL records but voter ` +
          `${context.nodeIds[voter]} granted it holding the same ${wal.length} and ` +
          `${grant.wal.length - wal.length} more`;
      }
    }
  }
  return null;
}

/**
 * S1: at most one core lets its Postgres be primary (the core's output), and at most one
 * Postgres accepts writes (the world).
 */
function oneWriter(context: ModelContext, state: ClusterModelState): string | null {
  // Loops, and lists only when two are found: this runs on every intermediate state too.
  const all = cores(state);
  let primaries = 0;
  for (const core of all) if (roleOf(core).kind === "primary") primaries++;
  if (primaries > 1) {
    const authorities = all.filter((core) => roleOf(core).kind === "primary").map((core) =>
      core.id
    );
    return `primary role on ${authorities.join(" and ")} at once`;
  }
  let writables = 0;
  for (const node of state.nodes) if (isWritable(node.postgres)) writables++;
  if (writables < 2) return null;
  const writable: string[] = [];
  state.nodes.forEach((node, index) => {
    if (isWritable(node.postgres)) writable.push(context.nodeIds[index]!);
  });
  if (writable.length > 1) return `Postgres accepts writes on ${writable.join(" and ")} at once`;
  return null;
}

/** S2: no write is acknowledged by a primary once a newer primary has been promoted. */
function noAckOnDeposedPrimary(_context: ModelContext, state: ClusterModelState): string | null {
  const late = state.acked.find((write) => write.afterNewerPrimary);
  return late
    ? `write w${late.write} acknowledged by a deposed primary after a newer promotion`
    : null;
}

/**
 * D1's premise, as a property: on every writable primary in quorum mode, the primary plus
 * any set of standbys that can satisfy its synchronous_standby_names meets every majority
 * of the voters (of the latest membership and of the applied one), so an acknowledged write
 * is on a member of every majority that could elect a successor. Names that are not voters
 * (a removed member, the commit gate) count as acknowledgers that meet no majority.
 */
function syncSetMeetsEveryMajority(
  context: ModelContext,
  state: ClusterModelState,
): string | null {
  const nodes = state.nodes;
  for (let index = 0; index < nodes.length; index++) {
    const node = nodes[index]!;
    const core = node.core;
    if (core === null || !isWritable(node.postgres) || core.applied.syncMode !== "quorum") continue;
    // The answer depends only on this node's core and Postgres objects (never mutated).
    let known = syncSetResults.get(core);
    if (known === undefined || known.postgres !== node.postgres || known.context !== context) {
      known = {
        postgres: node.postgres,
        context,
        problem: syncSetProblemOf(context, index, core, node.postgres),
      };
      syncSetResults.set(core, known);
    }
    if (known.problem !== null) return known.problem;
  }
  return null;
}

/** What `syncSetMeetsEveryMajority` finds on one writable primary in quorum mode, memoised per core. */
const syncSetResults = new WeakMap<
  NodeState,
  { postgres: PostgresModel; context: ModelContext; problem: string | null }
>();

/**
 * `syncSetMeetsEveryMajority` for node `index`, whose Postgres is writable and core in quorum
 * mode. It reads only the node's id, the names text and the two voter lists, so the answer
 * is kept per those (a stepped core mostly keeps its lists and names).
 */
function syncSetProblemOf(
  context: ModelContext,
  index: number,
  core: NodeState,
  postgres: PostgresModel,
): string | null {
  const latest = specMembership(core).voters;
  const applied = core.applied.membership.voters;
  const key = `${index}|${postgres.synchronousStandbyNames}|${joinedVoters(latest)}|${
    joinedVoters(applied)
  }`;
  let problems = syncSetProblems.get(context);
  if (problems === undefined) {
    problems = new Map();
    syncSetProblems.set(context, problems);
  }
  let problem = problems.get(key);
  if (problem === undefined) {
    problem = findSyncSetProblem(context, index, postgres, [latest, applied]);
    problems.set(key, problem);
  }
  return problem;
}

/** {@link syncSetProblemOf}'s answers per model context and key. */
const syncSetProblems = new WeakMap<ModelContext, Map<string, string | null>>();

/** A voter list in its order ("n2,n1"), kept per list object (lists are never mutated). */
function joinedVoters(voters: readonly string[]): string {
  let joined = joinedVoterLists.get(voters);
  if (joined === undefined) {
    joined = voters.join(",");
    joinedVoterLists.set(voters, joined);
  }
  return joined;
}

const joinedVoterLists = new WeakMap<readonly string[], string>();

/** The first acknowledger set of node `index` that misses a majority of one of `voterLists`. */
function findSyncSetProblem(
  context: ModelContext,
  index: number,
  postgres: PostgresModel,
  voterLists: readonly (readonly string[])[],
): string | null {
  const rule = parseSynchronousStandbyNames(postgres.synchronousStandbyNames);
  const names = rule?.names ?? [];
  const acknowledgerSets = subsetsOf(names).filter((set) => set.length === (rule?.count ?? 0));
  for (const voters of voterLists) {
    for (const acknowledgers of acknowledgerSets) {
      const holders = new Set([context.nodeIds[index]!, ...acknowledgers]);
      const others = new Set(voters.filter((voter) => !holders.has(voter)));
      if (isMajorityOf(others, voters)) {
        return `${
          context.nodeIds[index]
        } acknowledges with "${postgres.synchronousStandbyNames}" ` +
          `once ${acknowledgers.join(",") || "nobody"} flushed, but ${[...others].join(",")} ` +
          `are a majority of the voters ${voters.join(",")}`;
      }
    }
  }
  return null;
}

/**
 * Conformance, not safety: a primary in quorum mode names exactly the other voters with
 * ANY floor(N/2). Kept for the syncSetIgnoresMembership control, whose wrong set still meets
 * every majority within the model's bounds (a removal only shrinks majorities).
 */
function syncSetFormula(context: ModelContext, state: ClusterModelState): string | null {
  for (const core of cores(state)) {
    const role = roleOf(core);
    if (role.kind !== "primary" || core.applied.syncMode !== "quorum") continue;
    const voters = specMembership(core).voters;
    const others = voters.filter((voter) => voter !== core.id).sort();
    const expectedCount = Math.min(Math.floor(voters.length / 2), others.length);
    const rule = parseSynchronousStandbyNames(role.synchronousStandbyNames);
    const names = [...(rule?.names ?? [])].sort();
    const count = rule?.count ?? 0;
    // No remote standby required (a single voter): the commit gate alone, if there is one.
    const gate = context.config.commitGate;
    if (expectedCount === 0 && gate !== null && names.join(",") === gate) continue;
    if (
      count !== expectedCount || names.join(",") !== (expectedCount === 0 ? "" : others.join(","))
    ) {
      return `${core.id} as primary uses "${role.synchronousStandbyNames}" but the voters are ${
        voters.join(",")
      }` +
        ` (expected ANY ${expectedCount} of ${others.join(",")})`;
    }
  }
  return null;
}
