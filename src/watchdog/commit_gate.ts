/**
 * The commit gate: a physical replication client, living in the watchdog process, that the
 * local primary names as its synchronous standby whenever no remote standby is required
 * (asynchronous mode). It receives WAL and acknowledges it, but only while the watchdog
 * is armed: the agent's lease still runs. A commit on this node therefore completes only if
 * the lease was valid when the gate acknowledged it, even when the whole host was frozen
 * and thawed (the backends resume, but their commits wait for the gate, which checks its
 * monotonic clock first and sees that the lease is over). It stores nothing: durability in
 * asynchronous mode is the local WAL, as before; the gate only decides *when* a commit may
 * be acknowledged.
 *
 * While disarmed the gate is not connected at all (it closes its connection at the disarm or
 * at the first message it may not confirm, and connects again only when armed): a fast
 * shutdown waits until every walsender's client confirmed the last WAL, so a connected gate
 * that confirms nothing would hold the stop of a node without authority until the caller
 * falls back to an immediate shutdown. An absent gate changes nothing for commits: the
 * synchronous set still names it, so they wait.
 *
 * @module
 */
import { formatLsn, parseLsn } from "../postgres/lsn.ts";
import {
  BackendMessageReader,
  dataRowColumns,
  errorText,
  queryMessage,
  standbyStatusMessage,
  startupPacket,
  terminateMessage,
  xlogDataEnd,
} from "./replication_wire.ts";

/**
 * The application_name of the gate's connection. A dot cannot appear in a node id, so the
 * gate can never be mistaken for a member.
 */
export const COMMIT_GATE_NAME = "hactl.gate";
/** Delay between connection attempts (a commit waits at most about this long after a restart). */
const RECONNECT_DELAY_MS = 100;
/** How often, and how many ms apart, the first acknowledgement is sent (see `#repeatFirstAcknowledgement`). */
const FIRST_ACKNOWLEDGEMENT_REPEATS = 10;
const FIRST_ACKNOWLEDGEMENT_INTERVAL_MS = 100;
/** Longest wait for the server during the handshake before giving up and reconnecting. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

/** Where the local Postgres listens and who the gate connects as (peer authentication). */
export interface CommitGateTarget {
  readonly socketDirectory: string;
  readonly port: number;
  readonly user: string;
}

/**
 * Connects to the local Postgres while `mayCommit()` (armed), again and again; acknowledges WAL
 * only while `mayCommit()`; stays disconnected while it is false.
 */
export class CommitGate {
  readonly #target: CommitGateTarget;
  readonly #mayCommit: () => boolean;
  readonly #report: (text: string) => void;
  #connection: Deno.UnixConn | null = null;
  #streaming = false;
  #received = 0;
  #acknowledged = 0;
  #stopped = false;
  #lastProblem = "";
  /** Resolves the loop's wait for the next arm (or stop); null when it is not waiting. */
  #wakeLoop: (() => void) | null = null;

  constructor(
    target: CommitGateTarget,
    mayCommit: () => boolean,
    report: (text: string) => void,
  ) {
    this.#target = target;
    this.#mayCommit = mayCommit;
    this.#report = report;
  }

  /** Starts the connect loop (returns at once). */
  start(): void {
    void this.#loop();
  }

  /** Stops the gate and closes its connection. */
  stop(): void {
    this.#stopped = true;
    this.#close();
    this.#wakeLoop?.();
  }

  /**
   * Called whenever the agent renews the lease: connects at once if the gate is away, and
   * acknowledges what was received (so commits held meanwhile go through at once).
   */
  acknowledge(): void {
    this.#wakeLoop?.();
    this.#reply(false);
  }

  /** Called at a disarm: closes the connection; the gate stays away until armed again. */
  disarm(): void {
    this.#close();
  }

  /** Sends the received position if commits are allowed; `always`: even when nothing is new. */
  #reply(always: boolean): void {
    const connection = this.#connection;
    if (connection === null || !this.#streaming) return;
    if (!always && this.#received <= this.#acknowledged) return;
    // The clock is read as late as possible: just before the write.
    if (!this.#mayCommit()) {
      this.#close(); // see the module documentation: never hold a shutdown back
      return;
    }
    this.#acknowledged = this.#received;
    connection.write(standbyStatusMessage(this.#received, Date.now())).catch(() => this.#close());
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (!this.#mayCommit()) {
        await new Promise<void>((resolve) => this.#wakeLoop = resolve);
        this.#wakeLoop = null;
        continue;
      }
      try {
        await this.#session();
        this.#lastProblem = "";
      } catch (error) {
        if (this.#stopped) break;
        if (!this.#mayCommit()) continue; // closed on purpose: disarmed
        const problem = error instanceof Error ? error.message : String(error);
        // Reported once per distinct problem: Postgres being down is routine.
        if (problem !== this.#lastProblem) this.#report(`commit gate: ${problem}; retrying`);
        this.#lastProblem = problem;
      } finally {
        this.#close();
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
    }
  }

  async #session(): Promise<void> {
    const path = `${this.#target.socketDirectory}/.s.PGSQL.${this.#target.port}`;
    const connection = await Deno.connect({ transport: "unix", path });
    this.#connection = connection;
    this.#streaming = false;
    const reader = new BackendMessageReader();
    const pending: Array<{ type: string; body: Uint8Array }> = [];
    const chunks = connection.readable[Symbol.asyncIterator]();
    const next = async (): Promise<{ type: string; body: Uint8Array }> => {
      while (pending.length === 0) {
        const chunk = await chunks.next();
        if (chunk.done) throw new Error("the server closed the replication connection");
        pending.push(...reader.push(chunk.value));
      }
      return pending.shift()!;
    };
    const handshakeTimer = setTimeout(() => this.#close(), HANDSHAKE_TIMEOUT_MS);
    try {
      await connection.write(startupPacket({
        user: this.#target.user,
        replication: "true",
        application_name: COMMIT_GATE_NAME,
      }));
      await this.#untilReady(next);
      await connection.write(queryMessage("IDENTIFY_SYSTEM"));
      const [, timeline, position] = await this.#singleRow(next);
      if (!timeline || !position) throw new Error("IDENTIFY_SYSTEM returned no position");
      const start = parseLsn(position);
      await connection.write(
        queryMessage(`START_REPLICATION PHYSICAL ${formatLsn(start)} TIMELINE ${timeline}`),
      );
      await this.#expect(next, "W");
      this.#received = start;
      this.#acknowledged = 0;
      this.#streaming = true;
    } finally {
      clearTimeout(handshakeTimer);
    }
    const repeating = this.#repeatFirstAcknowledgement();
    try {
      await this.#stream(next);
    } finally {
      clearInterval(repeating);
    }
  }

  /**
   * A walsender releases waiting commits only once it is streaming (caught up), and it may
   * read the first acknowledgement just before that; with no new WAL nothing would follow
   * it (a commit held while the gate was away would wait for the next WAL of any kind). So
   * the first acknowledgement is repeated a few times.
   */
  #repeatFirstAcknowledgement(): ReturnType<typeof setInterval> {
    this.#reply(true);
    let repeats = 0;
    const timer = setInterval(() => {
      if (++repeats >= FIRST_ACKNOWLEDGEMENT_REPEATS) clearInterval(timer);
      this.#reply(true);
    }, FIRST_ACKNOWLEDGEMENT_INTERVAL_MS);
    return timer;
  }

  async #stream(next: () => Promise<{ type: string; body: Uint8Array }>): Promise<void> {
    for (;;) {
      const message = await next();
      if (message.type === "d") {
        const end = xlogDataEnd(message.body);
        if (end !== null && end > this.#received) this.#received = end;
        // Keepalives ('k') ask for a reply: the same acknowledgement answers them.
        this.#reply(message.body[0] === "k".charCodeAt(0));
      } else if (message.type === "E") {
        throw new Error(errorText(message.body));
      } else if (message.type === "c") {
        throw new Error("the server ended streaming (timeline switch)");
      }
    }
  }

  async #untilReady(next: () => Promise<{ type: string; body: Uint8Array }>): Promise<void> {
    for (;;) {
      const message = await next();
      if (message.type === "E") throw new Error(errorText(message.body));
      if (message.type === "R") {
        const code = new DataView(message.body.buffer, message.body.byteOffset).getInt32(0);
        if (code !== 0) {
          throw new Error(
            `Postgres asks for a password (method ${code}); the gate needs the peer-mapped ` +
              `"local replication" line that hactl writes to pg_hba.conf`,
          );
        }
      }
      if (message.type === "Z") return;
    }
  }

  async #singleRow(
    next: () => Promise<{ type: string; body: Uint8Array }>,
  ): Promise<Array<string | null>> {
    let row: Array<string | null> | null = null;
    for (;;) {
      const message = await next();
      if (message.type === "E") throw new Error(errorText(message.body));
      if (message.type === "D") row = dataRowColumns(message.body);
      if (message.type === "Z") {
        if (row === null) throw new Error("the server answered without a row");
        return row;
      }
    }
  }

  async #expect(
    next: () => Promise<{ type: string; body: Uint8Array }>,
    type: string,
  ): Promise<void> {
    for (;;) {
      const message = await next();
      if (message.type === "E") throw new Error(errorText(message.body));
      if (message.type === type) return;
    }
  }

  #close(): void {
    const connection = this.#connection;
    this.#connection = null;
    this.#streaming = false;
    if (connection === null) return;
    connection.write(terminateMessage()).catch(() => {}).finally(() => {
      try {
        connection.close();
      } catch {
        // already closed
      }
    });
  }
}
