/**
 * API addresses as `host:port` text, the form the CLI takes in `--api` and the API returns in
 * leader hints. IPv6 hosts are bracketed (`[::1]:8008`) so that the port stays unambiguous.
 *
 * @module
 */
import type { MemberAddress } from "../agent/agent_handle.ts";

/** `host:port` of a member's API. */
export function formatApiAddress(member: Pick<MemberAddress, "api">): string {
  const { hostname, port } = member.api;
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** Checks `host:port` text; returns it unchanged or throws a message naming the wrong value. */
export function parseApiAddress(text: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(
      `API address ${
        JSON.stringify(text)
      }: expected HOST:PORT such as 127.0.0.1:8008 or [::1]:8008`,
    );
  }
  return text;
}
