/**
 * IP networks as pg_hba.conf takes them (`10.0.0.0/8`, `fd00::/64`): parsing for the config's
 * `postgres.client_networks`, and the single-host entry of a member's address.
 *
 * @module
 */

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** Hex groups and colons, optionally ending in a dotted IPv4 part; checked further below. */
const IPV6_PATTERN = /^[0-9A-Fa-f:]{2,39}(\.\d{1,3}){0,3}$/;

/** True for a dotted-quad IPv4 address with every part 0-255. */
export function isIpv4Address(text: string): boolean {
  const match = IPV4_PATTERN.exec(text);
  return match !== null && match.slice(1).every((part) => Number(part) <= 255);
}

/** True for an IPv6 address in its usual text forms (at most one `::`). */
export function isIpv6Address(text: string): boolean {
  if (!IPV6_PATTERN.test(text) || !text.includes(":")) return false;
  const doubleColons = text.split("::").length - 1;
  if (doubleColons > 1) return false;
  const groups = text.split(":").filter((group) => group !== "");
  return groups.every((group) => group.includes(".") || group.length <= 4) &&
    groups.length <= 8 && (doubleColons === 1 || groups.length >= 7);
}

/**
 * Checks a network in CIDR notation; returns what is wrong, or null when pg_hba.conf will
 * take it. The prefix length is required: a bare address is written `10.0.0.5/32`.
 */
export function cidrProblem(text: string): string | null {
  const slash = text.indexOf("/");
  if (slash < 0) return `"${text}" has no prefix length; write e.g. "${text}/32" for one host`;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (isIpv4Address(address)) {
    return prefix >= 0 && prefix <= 32 ? null : `"${text}": an IPv4 prefix length is 0-32`;
  }
  if (isIpv6Address(address)) {
    return prefix >= 0 && prefix <= 128 ? null : `"${text}": an IPv6 prefix length is 0-128`;
  }
  return `"${text}": "${address}" is not an IPv4 or IPv6 address`;
}

/**
 * The pg_hba.conf address field that matches exactly one member: `/32` or `/128` for an IP
 * address; a host name stays a host name (Postgres then resolves it both ways when checking).
 */
export function singleHostEntry(host: string): string {
  if (isIpv4Address(host)) return `${host}/32`;
  if (isIpv6Address(host)) return `${host}/128`;
  return host;
}
