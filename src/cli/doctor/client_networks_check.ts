/**
 * Doctor's pg_hba check: postgres.client_networks, the networks pg_hba.conf admits database
 * clients from (always with a scram-sha-256 password). Any-address (0.0.0.0/0, ::/0, the
 * default) is allowed but reported, so that it is a choice rather than an accident.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { type CheckResult, passed, warned } from "./check_result.ts";

const CHECK = "client networks";

/** Warns when postgres.client_networks admits every address. */
export function checkClientNetworks(config: AgentConfig): CheckResult {
  const networks = config.postgres.clientNetworks;
  const open = networks.filter((network) => /\/0$/.test(network));
  if (open.length > 0) {
    return warned(
      CHECK,
      `postgres.client_networks has ${open.join(", ")}: pg_hba.conf admits clients from any ` +
        'address (with a password); narrow it to your application networks, e.g. ["10.1.0.0/16"]',
    );
  }
  if (networks.length === 0) {
    return passed(CHECK, "no client networks: only the members and this host connect");
  }
  return passed(CHECK, `clients admitted from ${networks.join(", ")} (scram-sha-256)`);
}
