/**
 * Reads the three-host deployment of README.md (the fenced block marked ```sh readme-deploy)
 * into steps: which hosts run which command. The block is split by headers
 * `# N. On <where>: ...`: "any machine" (run once), "every node", or named nodes ("node1",
 * "node2 and node3"). Other comment lines and blank lines are not steps.
 *
 * @module
 */

/** Where a step runs: once on any machine, on every node, or on the listed node numbers. */
export type StepHosts = { readonly kind: "once" } | { readonly kind: "every" } | {
  readonly kind: "nodes";
  /** Node numbers as written (node1 is 1). */
  readonly numbers: readonly number[];
};

/** One command of the README block and where it runs. */
export interface ReadmeStep {
  readonly hosts: StepHosts;
  readonly command: string;
}

/** The fence that opens the tested block. */
export const DEPLOY_FENCE = "```sh readme-deploy";

const HEADER = /^#\s*\d+\.\s*On\s+(.*)$/i;

/** The steps of the deployment block in `readme`; throws when it is missing or unparseable. */
export function readmeDeploySteps(readme: string): ReadmeStep[] {
  const start = readme.indexOf(`${DEPLOY_FENCE}\n`);
  if (start < 0) throw new Error(`README.md has no block opened by ${DEPLOY_FENCE}`);
  const bodyStart = start + DEPLOY_FENCE.length + 1;
  const end = readme.indexOf("\n```", bodyStart - 1);
  if (end < 0) throw new Error(`README.md: the ${DEPLOY_FENCE} block is never closed`);
  const steps: ReadmeStep[] = [];
  let hosts: StepHosts | null = null;
  for (const raw of readme.slice(bodyStart, end).split("\n")) {
    const line = raw.trim();
    const header = HEADER.exec(line);
    if (header !== null) {
      hosts = parseWhere(header[1] ?? "", line);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    if (hosts === null) {
      throw new Error(`README.md deploy block: "${line}" comes before any "# N. On ..." header`);
    }
    steps.push({ hosts, command: line });
  }
  return steps;
}

function parseWhere(header: string, line: string): StepHosts {
  const where = header.split(":")[0] ?? ""; // what follows the colon is explanation
  if (/any machine/i.test(where)) return { kind: "once" };
  if (/every node/i.test(where)) return { kind: "every" };
  const numbers = [...where.matchAll(/node(\d+)/g)].map((match) => Number(match[1]));
  if (numbers.length === 0) {
    throw new Error(
      `README.md deploy block: header "${line}" names no hosts; write "On any machine", ` +
        '"On every node" or "On node1"',
    );
  }
  return { kind: "nodes", numbers };
}

/** True when the step runs on node `number` (1-based); "once" steps run on node 1. */
export function stepRunsOn(step: ReadmeStep, number: number): boolean {
  if (step.hosts.kind === "every") return true;
  if (step.hosts.kind === "once") return number === 1;
  return step.hosts.numbers.includes(number);
}

/**
 * The command as node `number` runs it: README's example addresses 10.0.0.<n> become the
 * test hosts' (`addresses[n - 1]`), and the node's own config directory replaces node1's.
 */
export function substituteForHost(
  command: string,
  number: number,
  addresses: readonly string[],
): string {
  return command
    .replace(/\b10\.0\.0\.(\d+)\b/g, (text, n: string) => addresses[Number(n) - 1] ?? text)
    .replace(/hactl-configs\/node\d+\//g, `hactl-configs/node${number}/`);
}
