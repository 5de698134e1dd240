/**
 * `hactl watchdog --device`: the Linux watchdog protocol as the device sees it. A FIFO
 * stands in for /dev/watchdog (this machine has no watchdog driver, and a real one would
 * reset it): the test reads what the watchdog process writes. While armed the device is
 * opened and kept alive; on disarm it is released with the magic "V" before closing; if
 * the process dies while armed the device is closed without "V" (the kernel would reset
 * the machine). A missing device is refused at start with a clear message.
 */

import { assert, assertEquals } from "../postgres/assert.ts";
import { testHactlCommand as hactlCommand } from "../cluster/hactl_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts `hactl watchdog` on a stand-in device and a data directory without Postgres. */
function startWatchdog(directory: string, device: string): Deno.ChildProcess {
  const argv = hactlCommand(["watchdog", "--pgdata", `${directory}/pgdata`, "--device", device]);
  return new Deno.Command(argv[0]!, { args: argv.slice(1), stdin: "piped", stderr: "piped" })
    .spawn();
}

/** Reads the FIFO until its writer closes it; returns every byte written. */
async function readUntilClosed(fifo: string): Promise<Uint8Array> {
  const reader = await Deno.open(fifo, { read: true });
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const count = await reader.read(buffer);
    if (count === null) break;
    chunks.push(buffer.slice(0, count));
  }
  reader.close();
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

async function makeFifo(path: string): Promise<void> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert(made.success, `mkfifo failed: ${decoder.decode(made.stderr)}`);
}

/** A watchdog process on a FIFO device: its stdin, and every byte it writes to the device. */
interface FifoWatchdog {
  readonly child: Deno.ChildProcess;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Resolves with everything written once the watchdog closes the device. */
  readonly written: Promise<Uint8Array>;
  send(line: string): Promise<void>;
}

/** Runs `body` against `hactl watchdog` on a fresh FIFO standing in for the device. */
async function withFifoWatchdog(body: (watchdog: FifoWatchdog) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "hactl_hwdog_" });
  try {
    const fifo = `${directory}/watchdog`;
    await makeFifo(fifo);
    const child = startWatchdog(directory, fifo);
    const writer = child.stdin.getWriter();
    const written = readUntilClosed(fifo);
    await body({
      child,
      writer,
      written,
      send: (line) => writer.write(encoder.encode(`${line}\n`)),
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("the watchdog keeps the device alive while armed and releases it with V on disarm", async () => {
  await withFifoWatchdog(async ({ child, writer, written, send }) => {
    await send("arm 60000");
    // Renewals for about a second: the device is written to at least every 250 ms.
    for (let renewal = 0; renewal < 10; renewal++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await send("arm 60000");
    }
    await send("disarm");
    const bytes = await written;
    const keepAlives = bytes.filter((byte) => byte === 0).length;
    assert(keepAlives >= 2, `only ${keepAlives} keep-alive writes in a second`);
    assertEquals(bytes[bytes.length - 1], "V".charCodeAt(0), "no magic close on disarm");
    await writer.close();
    const status = await child.status;
    const stderr = decoder.decode(await new Response(child.stderr).arrayBuffer());
    assertEquals(status.code, 0, stderr);
    assert(/hardware watchdog .* active/.test(stderr), stderr);
  });
});

Deno.test("a watchdog process that dies while armed leaves the device to fire (no V)", async () => {
  await withFifoWatchdog(async ({ child, writer, written, send }) => {
    await send("arm 60000");
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill("SIGKILL");
    const bytes = await written;
    assert(bytes.length > 0, "the device was never kept alive");
    assert(!bytes.includes("V".charCodeAt(0)), "a killed watchdog must not disarm the device");
    await child.status;
    await writer.close().catch(() => {});
    await child.stderr.cancel();
  });
});

Deno.test("after the lease deadline fences Postgres, the device is released", async () => {
  await withFifoWatchdog(async ({ child, writer, written, send }) => {
    // No renewal after this: the deadline passes, the (absent) postmaster is "killed".
    await send("arm 300");
    const bytes = await written;
    assertEquals(bytes[bytes.length - 1], "V".charCodeAt(0), "device not released after fencing");
    await writer.close();
    const stderr = decoder.decode(await new Response(child.stderr).arrayBuffer());
    assertEquals((await child.status).code, 0, stderr);
    assert(/lease deadline; killed 0 Postgres processes/.test(stderr), stderr);
  });
});

Deno.test("a missing watchdog device is refused at start with what to do", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl_hwdog_" });
  try {
    const argv = hactlCommand([
      "watchdog",
      "--pgdata",
      `${directory}/pgdata`,
      "--device",
      `${directory}/no-such-watchdog`,
    ]);
    const output = await new Deno.Command(argv[0]!, { args: argv.slice(1), stdin: "null" })
      .output();
    assertEquals(output.code, 2);
    const stderr = decoder.decode(output.stderr);
    assert(/no such device .*modprobe softdog/.test(stderr), stderr);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
