/**
 * The REST API over HTTPS with a cluster CA made by hactl's openssl helper. Proves: the CLI's
 * status read reaches an HTTPS API when told the CA; a client without the CA (the system's
 * roots) is refused by certificate verification; a plain HTTP request to the HTTPS port gets
 * no answer from the agent; `hactl status --api ... --ca-file CA` (no node config) reads it.
 */
import { ok as assert } from "node:assert/strict";
import { startApiServer } from "../../src/api/server.ts";
import { fetchStatus } from "../../src/cli/api_client.ts";
import { apiTransportNote, apiUrl, useApiTls } from "../../src/cli/api_transport.ts";
import { createClusterCertificates } from "../../src/cli/tls_files.ts";
import { FakeAgent } from "./fake_agent.ts";
import { hactl } from "../cluster/hactl_process.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

async function failure(request: () => Promise<unknown>): Promise<string> {
  try {
    await request();
  } catch (error) {
    const cause = error instanceof Error && error.cause !== undefined ? String(error.cause) : "";
    return `${String(error)} ${cause}`;
  }
  throw new Error("the request succeeded, expected a refusal");
}

Deno.test("the API serves HTTPS to clients with the cluster CA and only to them", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-https-test-" });
  const files = (await createClusterCertificates(directory, "https-test", [
    { id: "n1", hosts: ["127.0.0.1"] },
  ])).get("n1")!;
  const server = startApiServer(new FakeAgent("n1"), {
    hostname: "127.0.0.1",
    port: 0,
    tokens: TEST_TOKENS,
    tls: {
      cert: await Deno.readTextFile(files.certFile),
      key: await Deno.readTextFile(files.keyFile),
    },
  });
  const api = `127.0.0.1:${server.port}`;
  try {
    await useApiTls(files.caFile);
    assert(apiUrl(api, "/status").startsWith("https://"), apiUrl(api, "/status"));
    assert(apiTransportNote().includes("TLS"), apiTransportNote());
    const status = await fetchStatus(api);
    assert(status.members !== undefined, "no status document over HTTPS");

    const withoutCa = await failure(() => fetch(`https://${api}/status`));
    assert(/certificate|UnknownIssuer/i.test(withoutCa), `unexpected failure: ${withoutCa}`);

    const plain = await failure(async () => {
      const response = await fetch(`http://${api}/status`, { signal: AbortSignal.timeout(3000) });
      await response.body?.cancel();
      if (response.ok) return;
      throw new Error(`answered ${response.status}`);
    });
    assert(plain.length > 0, "plain HTTP got a status document from the HTTPS port");

    // The CLI without a node config: --api with --ca-file talks HTTPS; a CA it cannot read
    // is a usage error naming the flag; without the CA the HTTPS API cannot be read.
    const cli = await hactl(["status", "--api", api, "--ca-file", files.caFile, "--json"]);
    assert(cli.code === 0, cli.output);
    assert(JSON.parse(cli.output.slice(cli.output.indexOf("{"))) !== null, cli.output);
    const missing = await hactl(["status", "--api", api, "--ca-file", `${directory}/none.pem`]);
    assert(
      missing.code === 2 && /--ca-file: cannot read the cluster CA/.test(missing.output),
      missing.output,
    );
    const plainCli = await hactl(["status", "--api", api, "--json"]);
    assert(plainCli.code !== 0, plainCli.output);
  } finally {
    await useApiTls(null);
    assert(apiTransportNote().includes("plain text"), apiTransportNote());
    await server.close();
    await Deno.remove(directory, { recursive: true });
  }
});
