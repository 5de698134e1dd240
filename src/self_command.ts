/**
 * The command line that runs this same hactl again (for the watchdog process, the local
 * cluster's agents and tests). Two ways hactl can be running:
 *
 * - compiled (`deno compile`, `Deno.build.standalone`): `Deno.execPath()` is hactl itself,
 *   so `hactl ARGS` is that executable followed by ARGS;
 * - from source (`deno run src/main.ts`): `Deno.execPath()` is deno, which must be told to
 *   run the entry module, with the project's config and the permissions below.
 *
 * @module
 */

/**
 * The permissions hactl runs with, compiled (scripts/compile.ts bakes them in) and from
 * source alike, so that the tests exercise the set the release binary has.
 *
 * What hactl needs: read and write (config, secret, its own and Postgres' data directories,
 * all paths from the config), net (Raft, the API, the gateway, Postgres), run (Postgres'
 * programs, runuser, and itself for the watchdog), env (HACTL_<SECTION>_<KEY> overrides,
 * the PG* variables the postgres client reads), sys (the user id: root runs Postgres as
 * another user) — and /proc and /dev: the watchdog finds and kills the postmaster's
 * children through /proc, the agent checks /proc/<pid>/cmdline before trusting a
 * postmaster.pid, and node.hardware_watchdog is a /dev device. Deno (2.9) grants /proc and
 * /dev only to a process that holds every permission ("Requires all access to /proc, run
 * again with the --allow-all flag"; test/binary/permissions_test.ts shows it), so any
 * narrower list breaks fencing. Hence --allow-all, until fencing no longer reads /proc.
 */
export const HACTL_PERMISSIONS: readonly string[] = ["--allow-all"];

/** How this hactl was started, which decides how it runs itself again. */
export type SelfInvocation =
  /** A compiled hactl executable. */
  | { readonly kind: "compiled"; readonly executable: string }
  /** `deno run` of the entry module with the project's deno.json. */
  | {
    readonly kind: "source";
    readonly deno: string;
    readonly entry: string;
    readonly config: string;
  };

/** How the running process was started. */
export function currentSelfInvocation(): SelfInvocation {
  if (Deno.build.standalone) return { kind: "compiled", executable: Deno.execPath() };
  return {
    kind: "source",
    deno: Deno.execPath(),
    entry: new URL("./main.ts", import.meta.url).pathname,
    config: new URL("../deno.json", import.meta.url).pathname,
  };
}

/** argv of `hactl ARGS` for the given way of running hactl. */
export function selfCommand(invocation: SelfInvocation, args: readonly string[]): string[] {
  if (invocation.kind === "compiled") return [invocation.executable, ...args];
  return [
    invocation.deno,
    "run",
    ...HACTL_PERMISSIONS,
    "--quiet",
    "--config",
    invocation.config,
    invocation.entry,
    ...args,
  ];
}

/** argv of `hactl ARGS`, run the same way as this process (compiled or from source). */
export function hactlCommand(args: readonly string[]): string[] {
  return selfCommand(currentSelfInvocation(), args);
}
