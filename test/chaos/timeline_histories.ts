/**
 * A third check, on what the nodes keep rather than what the clients saw: every timeline has
 * one history. Postgres writes `pg_wal/<timeline>.history` when it promotes (the parent
 * timelines and the LSN each one forked at); a clone or a rewind copies the file from its
 * source. Two nodes holding different files for one timeline id were promoted separately to
 * the same id: their WAL on that timeline diverges, positions on it cannot be compared, and a
 * rewind between them may find "no divergence" that is false (docs/SAFETY.md, timeline ids).
 * A forked timeline that took no acknowledged write is invisible to the client checkers; this
 * check sees it.
 *
 * @module
 */

/** The history files of one node: timeline id to file contents. */
export interface NodeHistories {
  readonly node: string;
  readonly histories: ReadonlyMap<number, string>;
}

/** A timeline id with more than one history among the nodes. */
export interface HistoryFork {
  readonly timeline: number;
  /** Each distinct history: its nodes and its last line (the fork point of the promotion). */
  readonly variants: readonly { readonly nodes: readonly string[]; readonly forkLine: string }[];
}

/** Reads every `*.history` file in `dataDirectory/pg_wal` (none when unreadable). */
export async function readHistories(node: string, dataDirectory: string): Promise<NodeHistories> {
  const histories = new Map<number, string>();
  try {
    for await (const entry of Deno.readDir(`${dataDirectory}/pg_wal`)) {
      const match = /^([0-9A-F]{8})\.history$/.exec(entry.name);
      if (match === null || !entry.isFile) continue;
      const text = await Deno.readTextFile(`${dataDirectory}/pg_wal/${entry.name}`).catch(() =>
        null
      );
      // An empty file is one being written (or left by a crash mid-write): nothing to compare.
      if (text !== null && text.trim() !== "") {
        histories.set(Number.parseInt(match[1] as string, 16), text);
      }
    }
  } catch {
    // No data directory (a node mid-clone): it holds no history to compare.
  }
  return { node, histories };
}

/** Timeline ids whose history differs between nodes, by id. */
export function findHistoryForks(nodes: readonly NodeHistories[]): HistoryFork[] {
  const byTimeline = new Map<number, Map<string, string[]>>();
  for (const { node, histories } of nodes) {
    for (const [timeline, text] of histories) {
      const variants = byTimeline.get(timeline) ?? new Map<string, string[]>();
      const canonical = text.trim();
      variants.set(canonical, [...(variants.get(canonical) ?? []), node]);
      byTimeline.set(timeline, variants);
    }
  }
  return [...byTimeline.entries()]
    .filter(([, variants]) => variants.size > 1)
    .map(([timeline, variants]) => ({
      timeline,
      variants: [...variants].map(([text, nodes]) => ({
        nodes: nodes.sort(),
        forkLine: text.split("\n").at(-1)?.trim() ?? "",
      })),
    }))
    .sort((a, b) => a.timeline - b.timeline);
}
