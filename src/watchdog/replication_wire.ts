/**
 * The few pieces of the PostgreSQL frontend/backend protocol (version 3.0) that a physical
 * replication client needs: the startup packet, simple queries, and the CopyBoth
 * sub-protocol of streaming replication (XLogData, keepalive, standby status update).
 * Messages are framed by a type byte and a 32-bit big-endian length that counts itself.
 *
 * @module
 */

/** Protocol version 3.0 as sent in the startup packet. */
const PROTOCOL_VERSION = 196608;
/** Largest backend message accepted (XLogData carries at most a few WAL pages at a time). */
export const MAX_BACKEND_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01). */
const POSTGRES_EPOCH_OFFSET_US = 946_684_800_000_000n;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One backend message: its type byte (as a character) and its body. */
export interface BackendMessage {
  readonly type: string;
  readonly body: Uint8Array;
}

/** The startup packet of a physical replication connection. */
export function startupPacket(parameters: Readonly<Record<string, string>>): Uint8Array {
  const pairs = Object.entries(parameters).flatMap(([key, value]) => [key, value]);
  const text = encoder.encode(pairs.map((part) => `${part}\0`).join("") + "\0");
  const packet = new Uint8Array(8 + text.length);
  const view = new DataView(packet.buffer);
  view.setInt32(0, packet.length);
  view.setInt32(4, PROTOCOL_VERSION);
  packet.set(text, 8);
  return packet;
}

/** A simple-query message. */
export function queryMessage(sql: string): Uint8Array {
  return framed("Q", encoder.encode(`${sql}\0`));
}

/** A CopyData message carrying a standby status update (write = flush = apply = `lsn` bytes). */
export function standbyStatusMessage(lsn: number, nowMs: number): Uint8Array {
  const body = new Uint8Array(34);
  const view = new DataView(body.buffer);
  body[0] = "r".charCodeAt(0);
  view.setBigUint64(1, BigInt(lsn));
  view.setBigUint64(9, BigInt(lsn));
  view.setBigUint64(17, BigInt(lsn));
  view.setBigInt64(25, BigInt(Math.floor(nowMs)) * 1000n - POSTGRES_EPOCH_OFFSET_US);
  body[33] = 0;
  return framed("d", body);
}

/** The Terminate message. */
export function terminateMessage(): Uint8Array {
  return framed("X", new Uint8Array(0));
}

function framed(type: string, body: Uint8Array): Uint8Array {
  const message = new Uint8Array(5 + body.length);
  message[0] = type.charCodeAt(0);
  new DataView(message.buffer).setInt32(1, 4 + body.length);
  message.set(body, 5);
  return message;
}

/** Splits a byte stream into backend messages. */
export class BackendMessageReader {
  #buffer = new Uint8Array(0);

  /** Adds received bytes; returns every message now complete. Throws on a bad frame. */
  push(chunk: Uint8Array): BackendMessage[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const messages: BackendMessage[] = [];
    let offset = 0;
    while (joined.length - offset >= 5) {
      const length = new DataView(joined.buffer, offset + 1, 4).getInt32(0);
      if (length < 4 || length > MAX_BACKEND_MESSAGE_BYTES) {
        throw new Error(`bad message length ${length} from the server`);
      }
      if (joined.length - offset < 1 + length) break;
      messages.push({
        type: String.fromCharCode(joined[offset]!),
        body: joined.slice(offset + 5, offset + 1 + length),
      });
      offset += 1 + length;
    }
    this.#buffer = joined.slice(offset);
    return messages;
  }
}

/** The human-readable text of an ErrorResponse body ("SEVERITY: message"). */
export function errorText(body: Uint8Array): string {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset]!);
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    fields.set(code, decoder.decode(body.subarray(offset + 1, end)));
    offset = end + 1;
  }
  return `${fields.get("S") ?? "ERROR"}: ${fields.get("M") ?? "(no message)"}`;
}

/** The columns of a DataRow body (null for SQL NULL). */
export function dataRowColumns(body: Uint8Array): Array<string | null> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getInt16(0);
  const columns: Array<string | null> = [];
  let offset = 2;
  for (let column = 0; column < count; column++) {
    const length = view.getInt32(offset);
    offset += 4;
    if (length < 0) {
      columns.push(null);
      continue;
    }
    columns.push(decoder.decode(body.subarray(offset, offset + length)));
    offset += length;
  }
  return columns;
}

/** The end position (start + length, in bytes) of an XLogData CopyData body ('w'), or null. */
export function xlogDataEnd(copyData: Uint8Array): number | null {
  if (copyData[0] !== "w".charCodeAt(0) || copyData.length < 25) return null;
  const view = new DataView(copyData.buffer, copyData.byteOffset, copyData.byteLength);
  return Number(view.getBigUint64(1)) + (copyData.length - 25);
}
