/**
 * What `hactl doctor` takes from the machine besides the config, with the real defaults; tests
 * point it at their own directories and shorten its waits.
 *
 * @module
 */

/** Where to look and how long to wait. */
export interface DoctorEnvironment {
  /** Debian's cluster configurations (`<version>/<name>/postgresql.conf`). */
  readonly debianConfigRoot: string;
  /** How long a TCP connection to a peer may take before it counts as unreachable. */
  readonly connectTimeoutMs: number;
  /** How many `Date` headers to read from each peer to bound its clock offset. */
  readonly clockSamples: number;
  /** The environment the config is loaded with (HACTL_<SECTION>_<KEY> overrides). */
  readonly variables: Readonly<Record<string, string>>;
}

/** Debian's postgresql-common keeps cluster configs here. */
export const DEBIAN_CONFIG_ROOT = "/etc/postgresql";
/** A peer on the same network answers a TCP connect within milliseconds; 1.5 s is generous. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_500;
/** Five reads 0.23 s apart spread over the `Date` header's one-second step (clock_offset.ts). */
export const DEFAULT_CLOCK_SAMPLES = 5;

/** The machine's real places and the default waits. */
export function defaultDoctorEnvironment(): DoctorEnvironment {
  return {
    debianConfigRoot: DEBIAN_CONFIG_ROOT,
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    clockSamples: DEFAULT_CLOCK_SAMPLES,
    variables: Deno.env.toObject(),
  };
}
