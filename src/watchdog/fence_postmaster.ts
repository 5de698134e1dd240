/**
 * The watchdog's fence: stops a postmaster and every one of its processes at once, so that
 * nothing can acknowledge a commit any more. SIGSTOP first (no new children), then SIGKILL
 * of every child, then of the postmaster.
 *
 * @module
 */

/** Most /proc entries scanned for children (a bound on the loop). */
const MAX_PROCESSES_SCANNED = 100_000;

/** The postmaster pid from postmaster.pid, or null. */
export async function postmasterPidOf(dataDirectory: string): Promise<number | null> {
  try {
    const pid = Number((await Deno.readTextFile(`${dataDirectory}/postmaster.pid`)).split("\n")[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Pids whose parent is `parent`, from /proc. */
export function childrenOf(parent: number): number[] {
  const children: number[] = [];
  let scanned = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (++scanned > MAX_PROCESSES_SCANNED) break;
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent) children.push(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** Kills the postmaster of `dataDirectory` and all its children; returns how many died. */
export async function killPostmaster(dataDirectory: string): Promise<number> {
  const pid = await postmasterPidOf(dataDirectory);
  if (pid === null) return 0;
  const signal = (target: number, name: Deno.Signal) => {
    try {
      Deno.kill(target, name);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal(pid, "SIGSTOP")) return 0;
  let killed = 0;
  for (const child of childrenOf(pid)) if (signal(child, "SIGKILL")) killed++;
  if (signal(pid, "SIGKILL")) killed++;
  return killed;
}
