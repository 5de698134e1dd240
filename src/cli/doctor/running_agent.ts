/**
 * Whether a hactl agent already runs on this node: its own API answers `GET /patroni` with
 * this node's name. Doctor then explains busy ports instead of blaming another process.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { memberAddresses } from "../../agent/members.ts";
import { formatApiAddress } from "../../api/api_address.ts";
import { apiFetchOptions, apiUrl } from "../api_transport.ts";
import { tokensFromFile } from "../operator_options.ts";

/** The node id the agent at this node's API reports, or null when nothing answers. */
export async function runningAgentNodeId(
  config: AgentConfig,
  timeoutMs: number,
): Promise<string | null> {
  const self = memberAddresses(config).find((member) => member.id === config.node.id)!;
  const token = await tokensFromFile(config.cluster.secretFile).then((tokens) => tokens.read)
    .catch(() => null);
  try {
    const response = await fetch(apiUrl(formatApiAddress(self), "/patroni"), {
      ...apiFetchOptions(),
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    const document = await response.json() as { patroni?: { name?: unknown } };
    const name = document.patroni?.name;
    return typeof name === "string" ? name : null;
  } catch {
    return null;
  }
}
