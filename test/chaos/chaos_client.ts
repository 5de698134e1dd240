/**
 * Entry point of a chaos client process, run by the chaos suite inside a client host of the
 * test network (so it reaches the nodes over the private network, and partitions cut it off
 * like any remote application): `deno run chaos_client.ts '<ClientProcessOptions as JSON>'`.
 * It prints one record line per write (see chaos_history.ts) and stops cleanly on SIGTERM,
 * after the outcome of the write in flight is known.
 *
 * @module
 */

import { formatRecordLine } from "./chaos_history.ts";
import { ChaosWriter } from "./chaos_writer.ts";

/** What the chaos suite passes to a client process. */
export interface ClientProcessOptions {
  readonly client: string;
  /** Hosts in connection-string order: name, address and port. */
  readonly hosts: readonly {
    readonly name: string;
    readonly host: string;
    readonly port: number;
  }[];
  readonly user: string;
  readonly password: string;
  readonly readWrite: boolean;
  readonly firstId: number;
  readonly intervalMs: number;
  readonly writeTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** Runs the client until SIGTERM. */
export async function runClientProcess(options: ClientProcessOptions): Promise<void> {
  const encoder = new TextEncoder();
  const writer = new ChaosWriter({
    ...options,
    hosts: options.hosts.map((host) => ({
      name: host.name,
      connection: {
        host: host.host,
        port: host.port,
        user: options.user,
        password: options.password,
        database: "postgres",
      },
    })),
    onRecord: (write) => writeAllSync(encoder.encode(formatRecordLine(write) + "\n")),
  });
  const stopped = new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGTERM", () => resolve());
  });
  writer.start();
  await stopped;
  await writer.stop();
  console.log(
    `chaos client ${options.client} stopped: ${writer.sessionFailures} rounds without a ` +
      `session, ${writer.authenticationStops} ended by an authentication failure`,
  );
  Deno.exit(0);
}

/** Writes every byte (one record per line, never interleaved with a partial write). */
function writeAllSync(bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) {
    offset += Deno.stdout.writeSync(bytes.subarray(offset));
  }
}

if (import.meta.main) {
  const argument = Deno.args[0];
  if (argument === undefined) {
    console.error("usage: chaos_client.ts '<ClientProcessOptions as JSON>'");
    Deno.exit(2);
  }
  await runClientProcess(JSON.parse(argument) as ClientProcessOptions);
}
