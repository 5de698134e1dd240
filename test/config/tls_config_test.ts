/**
 * The [tls] section: TLS on without its three files is refused with a message naming the
 * missing keys; with them the Postgres settings carry the files and the API scheme is https;
 * off keeps plain text. Node certificates name IP addresses as IP: entries and host names
 * as DNS: entries, and a value that cannot go into a certificate is refused.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { parseAgentConfig } from "../../src/config/config_file.ts";
import { renderConfigTemplate } from "../../src/config/config_template.ts";
import { apiSchemeOf, tlsFilesOf } from "../../src/config/tls_config.ts";
import { buildPostgresSettings } from "../../src/agent/members.ts";
import { subjectAltNameOf } from "../../src/cli/tls_files.ts";

const REQUIRED = {
  "node.id": "node1",
  "cluster.name": "main",
  "cluster.secret_file": "/etc/hactl/cluster.secret",
  "raft.advertise": "10.0.0.1:7401",
  "postgres.data_dir": "/var/lib/postgresql/hactl",
} as const;

Deno.test("tls.enabled = true without its files is refused, naming them", () => {
  const result = parseAgentConfig(
    renderConfigTemplate({ ...REQUIRED, "tls.enabled": true, "tls.ca_file": "/etc/ca.crt" }),
    { fileName: "hactl.toml" },
  );
  assert(!result.ok, "accepted TLS without a certificate");
  const message = result.errors.join("\n");
  assert(message.includes("tls.cert_file, tls.key_file"), message);
  assert(!message.includes("tls.ca_file,"), message);
});

Deno.test("TLS on reaches the Postgres settings and the API scheme; off stays plain", () => {
  const on = parseAgentConfig(
    renderConfigTemplate({
      ...REQUIRED,
      "tls.enabled": true,
      "tls.ca_file": "/etc/hactl/tls/ca.crt",
      "tls.cert_file": "/etc/hactl/tls/node1.crt",
      "tls.key_file": "/etc/hactl/tls/node1.key",
    }),
    { fileName: "hactl.toml" },
  );
  assert(on.ok, on.ok ? "" : on.errors.join("\n"));
  assertEquals(apiSchemeOf(on.config), "https");
  assertEquals(buildPostgresSettings(on.config, "secret", "/usr/bin").tls, {
    caFile: "/etc/hactl/tls/ca.crt",
    certFile: "/etc/hactl/tls/node1.crt",
    keyFile: "/etc/hactl/tls/node1.key",
  });
  const off = parseAgentConfig(renderConfigTemplate(REQUIRED), { fileName: "hactl.toml" });
  assert(off.ok);
  assertEquals(tlsFilesOf(off.config), null);
  assertEquals(apiSchemeOf(off.config), "http");
  assertEquals(buildPostgresSettings(off.config, "secret", "/usr/bin").tls, null);
});

Deno.test("certificates name addresses as IP and names as DNS, and refuse junk", () => {
  assertEquals(
    subjectAltNameOf({ id: "node1", hosts: ["10.0.0.1", "db1.example", "fd00::1"] }),
    "DNS:node1,IP:10.0.0.1,DNS:db1.example,IP:fd00::1",
  );
  throws(() => subjectAltNameOf({ id: "node1", hosts: ["a,DNS:evil"] }), /cannot put/);
});
