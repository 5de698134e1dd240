/**
 * What the reconciler checks on a running primary (and on a fenced one) every round, beside
 * its role: walsenders that are not hactl's are terminated (src/postgres/walsenders.ts), the
 * server's synchronous_commit is kept `on`, and role or database settings that opt out of
 * D1 are read for status and metrics (src/postgres/durability_settings.ts).
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIpv4Address, isIpv6Address } from "../config/network_address.ts";
import {
  describeOptOut,
  type DurabilityOptOut,
  ensureServerSynchronousCommit,
  readDurabilityOptOuts,
} from "../postgres/durability_settings.ts";
import type { PostgresSettings } from "../postgres/settings.ts";
import { withLocalSql } from "../postgres/sql_client.ts";
import {
  type TerminatedWalsender,
  terminateForeignWalsenders,
  type WalsenderPolicy,
} from "../postgres/walsenders.ts";
import { COMMIT_GATE_NAME } from "../watchdog/commit_gate.ts";
import type { Logger } from "./logger.ts";

/** A member other than this node, with the host names its connections may come from. */
export interface GuardedMember {
  readonly id: string;
  readonly hosts: readonly string[];
}

/** How long a resolved host name is trusted before it is looked up again. */
const RESOLVE_TTL_MS = 60_000;
/** Distinct terminated sources logged at warn level; later ones are counted only. */
const MAX_LOGGED_SOURCES = 256;
/** Time limits of the guard's local session. */
const GUARD_SQL_OPTIONS = { connectTimeoutSeconds: 2, statementTimeoutMs: 2_000 };

/** See the module comment. */
export class PrimaryGuard {
  /** Role and database settings that opt out of D1; null until read on a primary. */
  optOuts: readonly DurabilityOptOut[] | null = null;
  readonly #resolved = new Map<string, { addresses: string[]; atMs: number }>();
  readonly #loggedSources = new Set<string>();
  #lastProblem = "";

  constructor(
    private readonly settings: PostgresSettings,
    private readonly members: () => readonly GuardedMember[],
    private readonly log: Logger,
    private readonly countTerminated: (count: number) => void,
  ) {}

  /** One round; never throws (a failure is logged once until it changes). */
  async check(): Promise<void> {
    try {
      const policy = await this.#policy();
      await withLocalSql(this.settings, async (sql) => {
        // Walsenders first: the statements below may fail (on a standby about to be promoted).
        this.#reportTerminated(await terminateForeignWalsenders(sql, policy));
        this.#reportOptOuts(await readDurabilityOptOuts(sql));
        const replaced = await ensureServerSynchronousCommit(sql);
        if (replaced !== null) {
          this.log.warn(
            "postgres",
            `the server's synchronous_commit was "${replaced}" (it acknowledges commits the ` +
              `synchronous standbys may not have): set to "on" by ALTER SYSTEM`,
          );
        }
      }, GUARD_SQL_OPTIONS);
      this.#lastProblem = "";
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      if (problem !== this.#lastProblem) {
        this.log.warn("postgres", `checking replication clients and durability: ${problem}`);
      }
      this.#lastProblem = problem;
    }
  }

  #reportTerminated(terminated: readonly TerminatedWalsender[]): void {
    if (terminated.length === 0) return;
    this.countTerminated(terminated.length);
    for (const walsender of terminated) {
      const source = `${walsender.applicationName}|${walsender.clientAddress ?? "socket"}`;
      if (this.#loggedSources.has(source) || this.#loggedSources.size >= MAX_LOGGED_SOURCES) {
        continue;
      }
      this.#loggedSources.add(source);
      this.log.warn(
        "postgres",
        `terminated walsender ${walsender.pid}: ${walsender.reason} (further terminations ` +
          `from this source are counted in hactl_foreign_walsenders_terminated_total only)`,
      );
    }
  }

  #reportOptOuts(optOuts: DurabilityOptOut[]): void {
    const changed = JSON.stringify(optOuts) !== JSON.stringify(this.optOuts);
    this.optOuts = optOuts;
    if (!changed || optOuts.length === 0) return;
    this.log.warn(
      "postgres",
      `sessions opted out of acknowledged durability (D1) by role or database settings: ` +
        `${optOuts.map(describeOptOut).join("; ")}; remove them with ALTER ROLE/DATABASE ... ` +
        `RESET, or accept that their commits may be lost at a failover`,
    );
  }

  async #policy(): Promise<WalsenderPolicy> {
    const members = new Map<string, readonly string[] | null>();
    for (const member of this.members()) {
      members.set(member.id, await this.#addressesOf(member.hosts));
    }
    return { members, gateName: COMMIT_GATE_NAME };
  }

  /** The IP addresses of `hosts`; null when a host name has never resolved. */
  async #addressesOf(hosts: readonly string[]): Promise<string[] | null> {
    const addresses: string[] = [];
    for (const host of hosts) {
      if (isIpv4Address(host) || isIpv6Address(host)) {
        addresses.push(host);
        continue;
      }
      const resolved = await this.#resolve(host);
      if (resolved === null) return null;
      addresses.push(...resolved);
    }
    return [...new Set(addresses)];
  }

  async #resolve(host: string): Promise<string[] | null> {
    const cached = this.#resolved.get(host);
    if (cached !== undefined && performance.now() - cached.atMs < RESOLVE_TTL_MS) {
      return cached.addresses;
    }
    try {
      const found = await lookup(host, { all: true });
      const addresses = found.map((entry) => entry.address);
      this.#resolved.set(host, { addresses, atMs: performance.now() });
      return addresses;
    } catch {
      // Keep the last known addresses through a DNS outage.
      return cached?.addresses ?? null;
    }
  }
}
