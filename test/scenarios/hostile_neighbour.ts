/**
 * A hostile network neighbour, run as its own program inside a namespace of the scenario
 * network by test/scenarios/hostile_neighbour_test.ts. It holds `--per-target` TCP connections
 * open to every `host:port` it is given, each slot in one of {@link JUNK_MODES} (idle, random
 * bytes, an oversized length prefix then a stream, an HTTP request announcing a huge body, one
 * byte at a time), and opens a new connection whenever one is closed or refused. It never
 * stops by itself: the test kills it (or the namespace teardown does).
 *
 * Usage: `deno run --allow-net hostile_neighbour.ts [--per-target N] [--report-ms MS]
 * HOST:PORT...`. Every `--report-ms` it prints one JSON line of {@link NeighbourReport} on
 * standard output, which the test parses for the figures it prints and asserts on.
 *
 * It holds no secret: nothing it sends can authenticate, so every byte of it must be refused.
 *
 * @module
 */

/** What each slot does once connected; slot `i` of a target runs mode `i % length`. */
export const JUNK_MODES = [
  "idle",
  "garbage",
  "oversized-frame",
  "oversized-http",
  "trickle",
] as const;
/** A junk mode. */
export type JunkMode = typeof JUNK_MODES[number];

/** Default connections held per target. */
const DEFAULT_PER_TARGET = 20;
/** Default interval between two reports. */
const DEFAULT_REPORT_MS = 500;
/**
 * Pause before reconnecting after the server closed a connection. It bounds the churn: Postgres
 * and the gateway (which opens an upstream connection to the primary's Postgres) fork a backend
 * for every junk connection. With 250 ms, about 180 new connections a second on a loaded 2-core
 * CI machine went with lapses of the primary's lease in 3 of 12 runs (then killed by its
 * watchdog); the scenario is about junk held open, not about out-forking the machine.
 */
const RECONNECT_DELAY_MS = 1_000;
/** Pause after a refused or failed connect (port not listening: agent restarting, node dead). */
const CONNECT_RETRY_DELAY_MS = 200;
/** A connect that takes longer is abandoned (a frozen or dead host drops the SYN). */
const CONNECT_TIMEOUT_MS = 2_000;
/** Random bytes per write of a "garbage" slot, and the pause between writes. */
const GARBAGE_BYTES = 512;
const GARBAGE_INTERVAL_MS = 250;
/** Chunk of an oversized stream and the pause between chunks: at most 256 KiB/s per slot. */
const STREAM_CHUNK_BYTES = 64 * 1024;
const STREAM_INTERVAL_MS = 250;
/** Length announced by an "oversized-frame" slot (far above every frame or packet limit). */
const ANNOUNCED_FRAME_BYTES = 0x7fff_fff0;
/** Pause between two bytes of a "trickle" slot (slowloris). */
const TRICKLE_INTERVAL_MS = 500;

/** One line of the neighbour's output. */
export interface NeighbourReport {
  /** Connections open right now, over all targets. */
  readonly openNow: number;
  /** Most connections open at once so far. */
  readonly peakOpen: number;
  /** Connections open right now per target ("host:port"). */
  readonly openByTarget: Readonly<Record<string, number>>;
  /** Connections established so far. */
  readonly opened: number;
  /** Established connections that ended (closed by the server, reset). */
  readonly dropped: number;
  /** Connects refused or timed out. */
  readonly connectFailures: number;
  /** Bytes written over all connections. */
  readonly bytesSent: number;
}

interface Target {
  readonly label: string;
  readonly hostname: string;
  readonly port: number;
}

interface Totals {
  open: Map<string, number>;
  peakOpen: number;
  opened: number;
  dropped: number;
  connectFailures: number;
  bytesSent: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Parses `host:port` (IPv4 or a name). */
function parseTarget(text: string): Target {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`hostile_neighbour: target ${JSON.stringify(text)} is not HOST:PORT`);
  }
  return { label: text, hostname: text.slice(0, colon), port };
}

/** Connects within {@link CONNECT_TIMEOUT_MS}, or null. */
async function connectOrNull(target: Target): Promise<Deno.TcpConn | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Deno.connect({ hostname: target.hostname, port: target.port });
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), CONNECT_TIMEOUT_MS);
  });
  try {
    const connection = await Promise.race([attempt, timeout]);
    // A connect that completes after the timeout is closed at once.
    if (connection === null) attempt.then((late) => late.close(), () => {});
    return connection;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads (and discards) until the server closes the connection or it fails. */
async function drainUntilClosed(connection: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    while (await connection.read(buffer) !== null) { /* discard whatever the server says */ }
  } catch {
    // Reset: the connection ended all the same.
  }
}

/** Writes all of `bytes`; false when the connection failed. */
async function writeAll(connection: Deno.TcpConn, bytes: Uint8Array, totals: Totals) {
  try {
    for (let written = 0; written < bytes.length;) {
      const count = await connection.write(bytes.subarray(written));
      written += count;
      totals.bytesSent += count;
    }
    return true;
  } catch {
    return false;
  }
}

/** The bytes a slot sends first, before its repeated part. */
function opening(mode: JunkMode, target: Target): Uint8Array {
  if (mode === "oversized-frame") {
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, ANNOUNCED_FRAME_BYTES);
    return prefix;
  }
  if (mode === "oversized-http") {
    return new TextEncoder().encode(
      `POST /kv HTTP/1.1\r\nHost: ${target.label}\r\ncontent-type: application/json\r\n` +
        `content-length: ${ANNOUNCED_FRAME_BYTES}\r\n\r\n`,
    );
  }
  return new Uint8Array(0);
}

/** Sends the mode's junk until the connection ends (`closed` resolves) or a write fails. */
async function sendJunk(
  connection: Deno.TcpConn,
  mode: JunkMode,
  target: Target,
  closed: { ended: boolean },
  totals: Totals,
): Promise<void> {
  if (!await writeAll(connection, opening(mode, target), totals)) return;
  const stream = new Uint8Array(STREAM_CHUNK_BYTES).fill(0x41);
  while (!closed.ended) {
    if (mode === "idle") return;
    if (mode === "garbage") {
      if (
        !await writeAll(connection, crypto.getRandomValues(new Uint8Array(GARBAGE_BYTES)), totals)
      ) return;
      await sleep(GARBAGE_INTERVAL_MS);
    } else if (mode === "trickle") {
      if (!await writeAll(connection, Uint8Array.of(0x47), totals)) return;
      await sleep(TRICKLE_INTERVAL_MS);
    } else {
      if (!await writeAll(connection, stream, totals)) return;
      await sleep(STREAM_INTERVAL_MS);
    }
  }
}

/** One slot: connect, send junk until dropped, reconnect; forever. */
async function holdSlot(target: Target, mode: JunkMode, totals: Totals): Promise<never> {
  while (true) {
    const connection = await connectOrNull(target);
    if (connection === null) {
      totals.connectFailures++;
      await sleep(CONNECT_RETRY_DELAY_MS);
      continue;
    }
    totals.opened++;
    addOpen(totals, target.label, 1);
    const closed = { ended: false };
    const reading = drainUntilClosed(connection).then(() => {
      closed.ended = true;
    });
    await sendJunk(connection, mode, target, closed, totals);
    await reading;
    addOpen(totals, target.label, -1);
    totals.dropped++;
    try {
      connection.close();
    } catch { /* already closed */ }
    await sleep(RECONNECT_DELAY_MS);
  }
}

function addOpen(totals: Totals, label: string, change: number): void {
  totals.open.set(label, (totals.open.get(label) ?? 0) + change);
  const openNow = [...totals.open.values()].reduce((sum, count) => sum + count, 0);
  totals.peakOpen = Math.max(totals.peakOpen, openNow);
}

function report(totals: Totals): NeighbourReport {
  const openByTarget = Object.fromEntries(totals.open);
  return {
    openNow: Object.values(openByTarget).reduce((sum, count) => sum + count, 0),
    peakOpen: totals.peakOpen,
    openByTarget,
    opened: totals.opened,
    dropped: totals.dropped,
    connectFailures: totals.connectFailures,
    bytesSent: totals.bytesSent,
  };
}

/** Parses the arguments and runs every slot until the process is killed. */
async function main(args: readonly string[]): Promise<void> {
  let perTarget = DEFAULT_PER_TARGET;
  let reportMs = DEFAULT_REPORT_MS;
  const targets: Target[] = [];
  for (let index = 0; index < args.length; index++) {
    const argument = args[index]!;
    if (argument === "--per-target") perTarget = Number(args[++index]);
    else if (argument === "--report-ms") reportMs = Number(args[++index]);
    else targets.push(parseTarget(argument));
  }
  if (!Number.isInteger(perTarget) || perTarget < 1 || targets.length === 0) {
    throw new Error("usage: hostile_neighbour.ts [--per-target N] [--report-ms MS] HOST:PORT...");
  }
  const totals: Totals = {
    open: new Map(targets.map((target) => [target.label, 0])),
    peakOpen: 0,
    opened: 0,
    dropped: 0,
    connectFailures: 0,
    bytesSent: 0,
  };
  setInterval(() => console.log(JSON.stringify(report(totals))), reportMs);
  await Promise.all(
    targets.flatMap((target) =>
      Array.from(
        { length: perTarget },
        (_, slot) => holdSlot(target, JUNK_MODES[slot % JUNK_MODES.length]!, totals),
      )
    ),
  );
}

if (import.meta.main) await main(Deno.args);
