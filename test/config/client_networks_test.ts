/**
 * `postgres.client_networks` and `gateway.max_connections`: networks in CIDR notation are
 * accepted and bad ones refused with the element and what to write; pg_hba.conf then admits
 * clients from those networks and the members (whose gateways proxy clients), while
 * replication is admitted only from the members' own addresses and loopback.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseAgentConfig } from "../../src/config/config_file.ts";
import type { AgentConfig } from "../../src/config/config_schema.ts";
import { cidrProblem, singleHostEntry } from "../../src/config/network_address.ts";
import { buildPostgresSettings } from "../../src/agent/members.ts";
import { renderPgHba } from "../../src/postgres/config_files.ts";

function configText(extra: string): string {
  return `
[node]
id = "node1"

[cluster]
name = "main"
secret_file = "/etc/hactl/cluster.secret"
peers = ["node2=10.0.0.2:7401", "node3=db3.example.com:7401"]

[raft]
advertise = "10.0.0.1:7401"

[gateway]
listen = "0.0.0.0:6432"
max_connections = 50

[postgres]
data_dir = "/var/lib/postgresql/hactl"
${extra}
`;
}

function parse(extra: string): AgentConfig {
  const result = parseAgentConfig(configText(extra), { fileName: "hactl.toml" });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

Deno.test("CIDR networks: IPv4 and IPv6 with prefix lengths; anything else names the fix", () => {
  for (
    const good of ["10.0.0.0/8", "0.0.0.0/0", "192.168.1.7/32", "::/0", "fd00:1::/64", "::1/128"]
  ) {
    assertEquals(cidrProblem(good), null, good);
  }
  assert(cidrProblem("10.0.0.5")!.includes('write e.g. "10.0.0.5/32"'));
  assert(cidrProblem("10.0.0.0/33")!.includes("0-32"));
  assert(cidrProblem("256.0.0.0/8")!.includes("not an IPv4 or IPv6 address"));
  assert(cidrProblem("fd00::1::2/64")!.includes("not an IPv4 or IPv6 address"));
  assert(cidrProblem("fd00::/129")!.includes("0-128"));
  assert(cidrProblem("example.com/24")!.includes("not an IPv4 or IPv6 address"));
  assertEquals(singleHostEntry("10.0.0.2"), "10.0.0.2/32");
  assertEquals(singleHostEntry("fd00::2"), "fd00::2/128");
  assertEquals(singleHostEntry("db3.example.com"), "db3.example.com");
});

Deno.test("the config takes client_networks and max_connections, and refuses bad networks", () => {
  const config = parse('client_networks = ["10.1.0.0/16", "fd00:1::/64"]');
  assertEquals(config.postgres.clientNetworks, ["10.1.0.0/16", "fd00:1::/64"]);
  assertEquals(config.gateway.maxConnections, 50);
  const bad = parseAgentConfig(configText('client_networks = ["10.1.0.0/16", "10.2.0.0"]'), {
    fileName: "hactl.toml",
  });
  assert(!bad.ok);
  assert(
    bad.errors.some((error) =>
      error.includes("postgres.client_networks") && error.includes("element 2") &&
      error.includes('"10.2.0.0/32"')
    ),
    bad.errors.join("\n"),
  );
});

Deno.test("pg_hba.conf: clients from client_networks and members, replication only from members", () => {
  const config = parse('client_networks = ["10.1.0.0/16"]');
  const settings = buildPostgresSettings(config, "secret-0123456789abcdef", "/usr/bin");
  const lines = renderPgHba(settings).split("\n");
  const entries = (prefix: string) =>
    lines.filter((line) => line.startsWith(prefix)).map((line) => line.split(/\s+/)[3]);
  const members = ["127.0.0.1/32", "::1/128", "10.0.0.1/32", "10.0.0.2/32", "db3.example.com"];
  assertEquals(entries("host replication replicator ").sort(), [...members].sort());
  assertEquals(entries("host all all ").sort(), ["10.1.0.0/16", ...members].sort());
  assert(!lines.some((line) => line.includes("0.0.0.0/0")), "no longer open to every address");
});

Deno.test("by default clients may come from any address, as before the setting existed", () => {
  const settings = buildPostgresSettings(parse(""), "secret-0123456789abcdef", "/usr/bin");
  const text = renderPgHba(settings);
  assert(text.includes("host all all 0.0.0.0/0 scram-sha-256"));
  assert(text.includes("host all all ::/0 scram-sha-256"));
  assert(!text.includes("host replication replicator 0.0.0.0/0"), "replication stays narrow");
});
