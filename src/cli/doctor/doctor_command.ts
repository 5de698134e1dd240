/**
 * `hactl doctor --config FILE [--json]`: the pre-deployment check an operator runs on each
 * host before `hactl run`. One row per check (ok, warn or FAIL, with what is wrong and how to
 * fix it); exit code 1 when any check FAILs, 2 for a usage mistake.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type CommandOutput, CONSOLE_OUTPUT, runGuarded } from "../operator_options.ts";
import { UsageError } from "../usage_error.ts";
import { defaultDoctorEnvironment, type DoctorEnvironment } from "./doctor_environment.ts";
import { doctorExitCode, doctorReport, renderDoctorReport } from "./doctor_report.ts";
import { runDoctorChecks } from "./run_checks.ts";
import { LOW_FREE_BYTES, MIN_FREE_BYTES } from "./disk_space_check.ts";
import { MIN_POSTGRES_MAJOR_VERSION } from "./binaries_check.ts";
import { CERTIFICATE_RENEWAL_DAYS } from "./tls_certificate_check.ts";

const GIB = 1024 * 1024 * 1024;

/** Usage text of `hactl doctor`. */
export const DOCTOR_USAGE = `usage: hactl doctor --config FILE [--json]

Checks this host before hactl run, for the node config FILE: the config validates; Postgres
${MIN_POSTGRES_MAJOR_VERSION}+ binaries; the data directory (owner postgres.run_as_user, mode 0700, or
creatable; not Debian's own cluster); free disk (FAIL below ${
  MIN_FREE_BYTES / 1024 / 1024
} MiB, warn below
${
  LOW_FREE_BYTES / GIB
} GiB); the cluster secret (mode 0600/0400, not empty); the TLS CA, certificate
(valid, names this node's hosts, warn ${CERTIFICATE_RENEWAL_DAYS} days before expiry) and key (0600);
the listen ports are free; a Debian cluster on postgres.port; every peer's Raft and API
port (warn only: peers may not be up yet); each reachable peer's clock offset (warn beyond
the lease); postgres.client_networks open to any address (warn).
Exit code: 0 no FAIL (warnings allowed), 1 some check FAILed, 2 usage mistake.

  --config FILE  the node's config (as given to hactl run)
  --json         {ok, failures, warnings, checks: [{check, status, detail}]}
  -h, --help     this text`;

/** Runs `hactl doctor`; returns the exit code. */
export function doctorCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
  environment: DoctorEnvironment = defaultDoctorEnvironment(),
): Promise<number> {
  return runGuarded("doctor", output, async () => {
    let values;
    try {
      values = parseArgs({
        args: [...args],
        strict: true,
        options: {
          config: { type: "string" },
          json: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }).values;
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error), DOCTOR_USAGE);
    }
    if (values.help === true) {
      output.out(DOCTOR_USAGE);
      return 0;
    }
    if (values.config === undefined) {
      throw new UsageError("say which node config to check: --config FILE", DOCTOR_USAGE);
    }
    const report = doctorReport(await runDoctorChecks(values.config, environment));
    output.out(
      values.json === true ? JSON.stringify(report, null, 2) : renderDoctorReport(report),
    );
    return doctorExitCode(report);
  });
}
