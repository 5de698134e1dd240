/**
 * Doctor's clock check: the wall-clock offset of every reachable peer, read from its REST
 * API's `HEAD /liveness` (open without a token): the agent's `x-hactl-time-ms` header, or the
 * HTTP `Date` header of an older agent (clock_offset.ts), against what the lease tolerates.
 *
 * Why the lease bound: hactl's lease (src/core/config.ts, leaseDurationTicks) relies on
 * monotonic clocks whose rates differ by at most raft.clock_drift_permille, not on agreeing
 * wall clocks, so an offset alone does not break one-writer safety. But clocks that disagree
 * by more than a whole lease are not synchronized (no NTP), and an unsynchronized clock is the
 * kind whose rate may drift past that bound; wall-clock times in the history, logs and
 * `switchover --scheduled` are then wrong too. So an offset surely larger than the lease
 * (raft.tick_ms x leaseDurationTicks: 550 ms with the defaults) is a warning: enable NTP.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { leaseDurationTicks } from "../../core/config.ts";
import { coreConfigOf } from "../../config/core_config.ts";
import type { MemberAddress } from "../../agent/agent_handle.ts";
import { formatApiAddress } from "../../api/api_address.ts";
import { apiFetchOptions, apiUrl } from "../api_transport.ts";
import { type CheckResult, messageOf, passed, warned } from "./check_result.ts";
import { AGENT_TIME_HEADER } from "../../api/health_routes.ts";
import {
  certainOffsetMs,
  dateHeaderSample,
  type DateSample,
  describeOffset,
  exactSample,
  offsetBounds,
} from "./clock_offset.ts";

const SAMPLE_TIMEOUT_MS = 2_000;
const ONE_SECOND_MS = 1_000;

/** The lease of this config in milliseconds: the offset doctor tolerates between clocks. */
export function leaseMsOf(config: AgentConfig): number {
  return leaseDurationTicks(coreConfigOf(config)) * config.raft.tickMs;
}

/** One row per peer in `peers` (those whose API answered), or one saying none could be asked. */
export async function checkClocks(
  config: AgentConfig,
  peers: readonly MemberAddress[],
  samples: number,
): Promise<CheckResult[]> {
  if (peers.length === 0) {
    return [
      warned(
        "clocks",
        "no peer API reachable: clock offsets not measured; run doctor again once peers are up",
      ),
    ];
  }
  const toleranceMs = leaseMsOf(config);
  return await Promise.all(peers.map(async (peer) => {
    const check = `clock ${peer.id}`;
    let measured: DateSample[];
    try {
      measured = await sampleDates(formatApiAddress(peer), samples);
    } catch (error) {
      return warned(check, `cannot read the Date header of ${peer.id}'s API: ${messageOf(error)}`);
    }
    const bounds = offsetBounds(measured);
    if (bounds === null) {
      return warned(
        check,
        `${peer.id}'s clock or this one was stepped while measuring; run doctor again`,
      );
    }
    const offset = `${peer.id} is ${describeOffset(bounds)} from this host's clock`;
    if (certainOffsetMs(bounds) > toleranceMs) {
      return warned(
        check,
        `${offset}, more than the lease (${toleranceMs} ms): the clocks are not ` +
          "synchronized; enable NTP on every member (timedatectl set-ntp true, chrony)",
      );
    }
    return passed(check, `${offset} (tolerated: the lease, ${toleranceMs} ms)`);
  }));
}

/**
 * `count` requests spread over one second, so that whole-second `Date` headers step at
 * different points of them.
 */
async function sampleDates(api: string, count: number): Promise<DateSample[]> {
  const samples: DateSample[] = [];
  const spacingMs = Math.ceil(ONE_SECOND_MS / count) + 30;
  const url = apiUrl(api, "/liveness");
  for (let index = 0; index < count; index++) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, spacingMs));
    const sentMs = Date.now();
    const response = await fetch(url, {
      ...apiFetchOptions(),
      method: "HEAD",
      signal: AbortSignal.timeout(SAMPLE_TIMEOUT_MS),
    });
    const receivedMs = Date.now();
    await response.body?.cancel();
    const agentMs = Number(response.headers.get(AGENT_TIME_HEADER) ?? NaN);
    const dateMs = Date.parse(response.headers.get("date") ?? "");
    if (Number.isSafeInteger(agentMs)) samples.push(exactSample(sentMs, receivedMs, agentMs));
    else if (Number.isFinite(dateMs)) samples.push(dateHeaderSample(sentMs, receivedMs, dateMs));
    else throw new Error(`${url} sent neither ${AGENT_TIME_HEADER} nor a Date header`);
  }
  return samples;
}
