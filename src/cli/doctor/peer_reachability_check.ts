/**
 * Doctor's peer check: every other member's Raft and API port accepts a TCP connection within
 * a short timeout. Doctor runs before deploying, so a peer that is not up yet is a warning,
 * not a failure; the detail names the ports to open in the firewall.
 *
 * @module
 */
import type { AgentConfig, HostPort } from "../../config/config_schema.ts";
import { memberAddresses } from "../../agent/members.ts";
import type { MemberAddress } from "../../agent/agent_handle.ts";
import { type CheckResult, messageOf, passed, warned } from "./check_result.ts";

/** The rows, one per peer, and the peers whose API answered (for the clock check). */
export interface PeerReachability {
  readonly results: readonly CheckResult[];
  readonly reachableApis: readonly MemberAddress[];
}

/** Connects to every peer's Raft and API port at once. */
export async function checkPeers(
  config: AgentConfig,
  timeoutMs: number,
): Promise<PeerReachability> {
  const peers = memberAddresses(config).filter((member) => member.id !== config.node.id);
  const outcomes = await Promise.all(peers.map(async (peer) => ({
    peer,
    raft: await tcpProblem(peer.raft, timeoutMs),
    api: await tcpProblem(peer.api, timeoutMs),
  })));
  const results = outcomes.map(({ peer, raft, api }) => {
    const check = `peer ${peer.id}`;
    const reached = `raft ${formatHostPort(peer.raft)} and api ${formatHostPort(peer.api)}`;
    if (raft === null && api === null) return passed(check, `${reached} reachable`);
    const problems = [
      ...(raft === null ? [] : [`raft ${formatHostPort(peer.raft)}: ${raft}`]),
      ...(api === null ? [] : [`api ${formatHostPort(peer.api)}: ${api}`]),
    ];
    return warned(
      check,
      `${problems.join("; ")} (fine if ${peer.id} is not deployed yet; else open TCP ` +
        `${peer.raft.port},${peer.api.port} from this host)`,
    );
  });
  return {
    results: peers.length === 0
      ? [passed("peers", "no peers configured (one-node cluster)")]
      : results,
    reachableApis: outcomes.filter((outcome) => outcome.api === null).map((outcome) =>
      outcome.peer
    ),
  };
}

/** `host:port`, IPv6 hosts in brackets. */
export function formatHostPort(address: HostPort): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}

/** Null when `address` accepts a TCP connection within `timeoutMs`, else what happened. */
export async function tcpProblem(address: HostPort, timeoutMs: number): Promise<string | null> {
  try {
    const connection = await Deno.connect({
      hostname: address.hostname,
      port: address.port,
      signal: AbortSignal.timeout(timeoutMs),
    });
    connection.close();
    return null;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return `no answer within ${timeoutMs} ms`;
    }
    return messageOf(error);
  }
}
