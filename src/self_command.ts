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
 * source alike, so that the tests exercise the same set as the release binary:
 *
 * - read, write: config, secret, hactl's data directory, Postgres' data directory (all paths
 *   come from the config, so no fixed list fits);
 * - net: the Raft transport, the REST API, the gateway, and connections to Postgres;
 * - run: Postgres' programs (initdb, pg_ctl, pg_basebackup, pg_rewind, postgres), `runuser`
 *   to run them as the postgres user, and hactl itself for the watchdog;
 * - env: `HACTL_<SECTION>_<KEY>` overrides, and the postgres client reads PG* variables;
 * - sys: the process' user id (root runs Postgres as another user) and the host name.
 *
 * Not granted: ffi (hactl loads no native library) and import (no code is fetched at run
 * time; every module is bundled or local).
 */
export const HACTL_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
];

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
