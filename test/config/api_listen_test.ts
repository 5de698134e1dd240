/**
 * api.listen follows the advertised address by default: a node whose raft.advertise is a
 * non-default loopback address serves its API where the CLI and the other members look for
 * it (the advertised host, port 8008) — a real listener on the configured address answers a
 * real connection to the member's API address. An explicit api.listen still wins.
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import { parseAgentConfig } from "../../src/config/config_file.ts";
import { memberAddresses } from "../../src/agent/members.ts";
import { formatApiAddress } from "../../src/api/api_address.ts";

/** A node config advertising `host`, with `extra` TOML lines appended. */
function configText(host: string, extra = ""): string {
  return `[node]\nid = "node1"\n[cluster]\nname = "main"\nsecret_file = "/etc/hactl/s"\n` +
    `[raft]\nlisten = "0.0.0.0:7401"\nadvertise = "${host}:7401"\n` +
    `[postgres]\ndata_dir = "/data/pg"\n${extra}`;
}

function parsed(text: string) {
  const result = parseAgentConfig(text, { fileName: "hactl.toml", overrides: [] });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

Deno.test("by default the API listens on the advertised host, where the CLI addresses it", async () => {
  const host = "127.0.0.37";
  const config = parsed(configText(host));
  assertEquals(config.api.listen, { hostname: host, port: 8008 });
  const own = memberAddresses(config).find((member) => member.id === "node1")!;
  const server = Deno.serve(
    { hostname: config.api.listen.hostname, port: config.api.listen.port, onListen: () => {} },
    () => new Response("here"),
  );
  try {
    const response = await fetch(`http://${formatApiAddress(own)}/`);
    assertEquals(await response.text(), "here", "the CLI's address reaches the listener");
  } finally {
    await server.shutdown();
  }
});

Deno.test("an explicit api.listen is kept, and its port is the one members are addressed on", () => {
  const config = parsed(configText("10.0.0.1", '[api]\nlisten = "0.0.0.0:8100"\n'));
  assertEquals(config.api.listen, { hostname: "0.0.0.0", port: 8100 });
  const own = memberAddresses(config).find((member) => member.id === "node1")!;
  assert(formatApiAddress(own) === "10.0.0.1:8100", formatApiAddress(own));
});
