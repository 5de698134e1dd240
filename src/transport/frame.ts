/**
 * The wire format between peers: a hello from the accepting side, then authenticated frames.
 *
 * Why a hello: a per-connection sequence number alone does not stop an attacker from replaying a
 * whole recorded connection. The accepting side therefore opens every connection with a fresh
 * random challenge, and every frame's HMAC covers that challenge, so a frame is valid on exactly
 * one connection at exactly one position (its sequence number).
 *
 * ```
 * hello (accepting side, once):  "HCTL" | version u8 | challenge (16 bytes)
 * frame (connecting side):       body length u32 BE | body
 * body:                          version u8 | cluster id length u8 | cluster id (ASCII)
 *                                | sender id length u8 | sender id (ASCII) | sequence u64 BE
 *                                | payload (UTF-8 JSON message) | HMAC-SHA256 (32 bytes)
 * HMAC key:                      HMAC-SHA256(cluster secret, "hactl peer frame key v1")
 * HMAC input:                    challenge | body without the HMAC
 * ```
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { MAX_MESSAGE_BYTES } from "./message_codec.ts";

/** Version of this format; a frame or hello of another version is refused. */
export const FRAME_PROTOCOL_VERSION = 1;
/** Bytes of the big-endian length prefix in front of every frame body. */
export const FRAME_LENGTH_PREFIX_BYTES = 4;
/** Bytes of the HMAC-SHA256 tag at the end of every frame body. */
export const FRAME_MAC_BYTES = 32;
/** Bytes of the sequence number. */
const SEQUENCE_BYTES = 8;
/** Cluster and node ids are at most this many bytes (they match /^[A-Za-z0-9_-]{1,63}$/). */
export const MAX_FRAME_ID_BYTES = 63;
/** Largest frame body: the largest message plus the header and the HMAC. */
export const MAX_FRAME_BYTES = MAX_MESSAGE_BYTES + 1 + 2 * (1 + MAX_FRAME_ID_BYTES) +
  SEQUENCE_BYTES +
  FRAME_MAC_BYTES;
/**
 * Largest frame an unauthenticated connection may send: the first frame of a connection is
 * authenticated before anything bigger is buffered or hashed. The connecting side opens with
 * an empty authentication frame (see {@link encodeFrame} with an empty payload), so this only
 * has to hold the header and the HMAC; the slack admits a small first message from a node of an
 * earlier version, which sent its first queued message (a heartbeat) at once.
 */
export const MAX_UNAUTHENTICATED_FRAME_BYTES = 4096;
/** Bytes of the random challenge in the hello. */
export const CHALLENGE_BYTES = 16;
/** The hello's first bytes, so that a stray client (HTTP, Postgres) is told apart at once. */
export const HELLO_MAGIC = new TextEncoder().encode("HCTL");
/** Bytes of the whole hello. */
export const HELLO_BYTES = HELLO_MAGIC.length + 1 + CHALLENGE_BYTES;

const KEY_DERIVATION_LABEL = "hactl peer frame key v1";
const ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
const encoder = new TextEncoder();
const asciiDecoder = new TextDecoder("ascii");

/** The header fields and payload of one frame. */
export interface FrameFields {
  readonly version: number;
  readonly clusterId: string;
  readonly senderId: string;
  readonly sequence: number;
  readonly payload: Uint8Array;
}

/** A frame body split into its fields, not yet authenticated. */
export interface ParsedFrame {
  readonly fields: FrameFields;
  /** The bytes the HMAC covers (after the challenge). */
  readonly signed: Uint8Array;
  readonly mac: Uint8Array;
}

/** Derives the frame HMAC key from the cluster secret (kept apart from any other use of it). */
export function deriveFrameKey(secret: string | Uint8Array): Uint8Array {
  const secretBytes = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (secretBytes.length === 0) {
    throw new Error("deriveFrameKey: the cluster secret is empty; set one");
  }
  return new Uint8Array(createHmac("sha256", secretBytes).update(KEY_DERIVATION_LABEL).digest());
}

/** Encodes the hello that the accepting side sends first. */
export function encodeHello(challenge: Uint8Array): Uint8Array {
  if (challenge.length !== CHALLENGE_BYTES) {
    throw new Error(
      `encodeHello: challenge must be ${CHALLENGE_BYTES} bytes, got ${challenge.length}`,
    );
  }
  const hello = new Uint8Array(HELLO_BYTES);
  hello.set(HELLO_MAGIC, 0);
  hello[HELLO_MAGIC.length] = FRAME_PROTOCOL_VERSION;
  hello.set(challenge, HELLO_MAGIC.length + 1);
  return hello;
}

/** Reads a hello into its challenge, or says what is wrong with it. */
export function parseHello(
  hello: Uint8Array,
): { ok: true; challenge: Uint8Array } | { ok: false; error: string } {
  if (hello.length !== HELLO_BYTES) {
    return { ok: false, error: `hello is ${hello.length} bytes, expected ${HELLO_BYTES}` };
  }
  if (!HELLO_MAGIC.every((byte, position) => hello[position] === byte)) {
    return {
      ok: false,
      error: "hello does not start with HCTL: the address is not a hactl raft port",
    };
  }
  const version = hello[HELLO_MAGIC.length];
  if (version !== FRAME_PROTOCOL_VERSION) {
    return {
      ok: false,
      error: `hello has protocol version ${version}, this node speaks ${FRAME_PROTOCOL_VERSION}`,
    };
  }
  return { ok: true, challenge: hello.slice(HELLO_MAGIC.length + 1) };
}

/** Encodes one frame, length prefix included, authenticated for the connection's challenge. */
export function encodeFrame(
  fields: Omit<FrameFields, "version"> & { readonly version?: number },
  key: Uint8Array,
  challenge: Uint8Array,
): Uint8Array {
  const clusterId = encodeId(fields.clusterId, "cluster id");
  const senderId = encodeId(fields.senderId, "sender id");
  if (!Number.isSafeInteger(fields.sequence) || fields.sequence < 0) {
    throw new Error(
      `encodeFrame: sequence must be a non-negative safe integer, got ${fields.sequence}`,
    );
  }
  const bodyBytes = 1 + 1 + clusterId.length + 1 + senderId.length + SEQUENCE_BYTES +
    fields.payload.length + FRAME_MAC_BYTES;
  if (bodyBytes > MAX_FRAME_BYTES) {
    throw new Error(
      `encodeFrame: frame of ${bodyBytes} bytes is over the ${MAX_FRAME_BYTES} limit`,
    );
  }
  const frame = new Uint8Array(FRAME_LENGTH_PREFIX_BYTES + bodyBytes);
  const view = new DataView(frame.buffer);
  view.setUint32(0, bodyBytes);
  let offset = FRAME_LENGTH_PREFIX_BYTES;
  frame[offset++] = fields.version ?? FRAME_PROTOCOL_VERSION;
  frame[offset++] = clusterId.length;
  frame.set(clusterId, offset);
  offset += clusterId.length;
  frame[offset++] = senderId.length;
  frame.set(senderId, offset);
  offset += senderId.length;
  view.setUint32(offset, Math.floor(fields.sequence / 2 ** 32));
  view.setUint32(offset + 4, fields.sequence % 2 ** 32);
  offset += SEQUENCE_BYTES;
  frame.set(fields.payload, offset);
  offset += fields.payload.length;
  const signed = frame.subarray(FRAME_LENGTH_PREFIX_BYTES, offset);
  frame.set(computeMac(key, challenge, signed), offset);
  return frame;
}

/** Splits a frame body (without the length prefix) into its fields; checks structure only. */
export function parseFrameBody(
  body: Uint8Array,
): { ok: true; frame: ParsedFrame } | { ok: false; error: string } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  const need = (bytes: number) => offset + bytes <= body.length - FRAME_MAC_BYTES;
  if (!need(1)) return { ok: false, error: `frame body of ${body.length} bytes is too short` };
  const version = body[offset++]!;
  const clusterId = readId(body, offset, need);
  if (clusterId === null) return { ok: false, error: "frame cluster id is truncated or not an id" };
  offset += 1 + clusterId.length;
  const senderId = readId(body, offset, need);
  if (senderId === null) return { ok: false, error: "frame sender id is truncated or not an id" };
  offset += 1 + senderId.length;
  if (!need(SEQUENCE_BYTES)) return { ok: false, error: "frame sequence number is truncated" };
  const sequence = view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
  if (!Number.isSafeInteger(sequence)) {
    return { ok: false, error: `frame sequence ${sequence} is too large` };
  }
  offset += SEQUENCE_BYTES;
  const macOffset = body.length - FRAME_MAC_BYTES;
  return {
    ok: true,
    frame: {
      fields: { version, clusterId, senderId, sequence, payload: body.subarray(offset, macOffset) },
      signed: body.subarray(0, macOffset),
      mac: body.subarray(macOffset),
    },
  };
}

/** True when the frame's HMAC is right for this key and connection challenge (constant time). */
export function verifyFrameMac(
  frame: ParsedFrame,
  key: Uint8Array,
  challenge: Uint8Array,
): boolean {
  const expected = computeMac(key, challenge, frame.signed);
  return frame.mac.length === expected.length && timingSafeEqual(frame.mac, expected);
}

/** The result of asking a {@link FrameReader} for the next frame. */
export type FrameReadResult =
  | { readonly kind: "frame"; readonly body: Uint8Array }
  | { readonly kind: "need-more" }
  | { readonly kind: "error"; readonly error: string };

/**
 * Cuts a byte stream into frame bodies. Memory grows only with bytes actually received, so a
 * peer announcing a large frame must also send it; a length over {@link MAX_FRAME_BYTES} is
 * refused as soon as the prefix arrives.
 */
export class FrameReader {
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;

  /** Appends received bytes. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
  }

  /** Bytes received but not yet returned as a frame. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /**
   * Returns the next complete frame body, `need-more`, or an error that must end the
   * connection. A length prefix over `maxBodyBytes` (at most {@link MAX_FRAME_BYTES}) is an
   * error as soon as it arrives, before the body is buffered.
   */
  next(maxBodyBytes: number = MAX_FRAME_BYTES): FrameReadResult {
    if (this.#bufferedBytes < FRAME_LENGTH_PREFIX_BYTES) return { kind: "need-more" };
    const prefix = this.#peek(FRAME_LENGTH_PREFIX_BYTES);
    const bodyBytes = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getUint32(
      0,
    );
    const limit = Math.min(maxBodyBytes, MAX_FRAME_BYTES);
    if (bodyBytes > limit) {
      return {
        kind: "error",
        error: limit < MAX_FRAME_BYTES
          ? `frame length prefix ${bodyBytes} is over the ${limit}-byte limit of a connection ` +
            "that has not authenticated yet"
          : `frame length prefix ${bodyBytes} is over the ${limit}-byte limit`,
      };
    }
    if (bodyBytes < 1 + FRAME_MAC_BYTES) {
      return { kind: "error", error: `frame length prefix ${bodyBytes} is too small for a frame` };
    }
    if (this.#bufferedBytes < FRAME_LENGTH_PREFIX_BYTES + bodyBytes) return { kind: "need-more" };
    const frame = this.#take(FRAME_LENGTH_PREFIX_BYTES + bodyBytes);
    return { kind: "frame", body: frame.subarray(FRAME_LENGTH_PREFIX_BYTES) };
  }

  #peek(bytes: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= bytes) return first.subarray(0, bytes);
    this.#chunks = [concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, bytes);
  }

  #take(bytes: number): Uint8Array {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : concat(this.#chunks);
    const taken = all.slice(0, bytes);
    const rest = all.subarray(bytes);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#bufferedBytes = rest.length;
    return taken;
  }
}

function computeMac(key: Uint8Array, challenge: Uint8Array, signed: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(challenge).update(signed).digest());
}

function encodeId(id: string, what: string): Uint8Array {
  if (!ID_PATTERN.test(id)) {
    throw new Error(`encodeFrame: ${what} ${JSON.stringify(id)} is not an id`);
  }
  return encoder.encode(id);
}

function readId(body: Uint8Array, offset: number, need: (bytes: number) => boolean): string | null {
  if (!need(1)) return null;
  const length = body[offset]!;
  if (length === 0 || length > MAX_FRAME_ID_BYTES || !need(1 + length)) return null;
  const id = asciiDecoder.decode(body.subarray(offset + 1, offset + 1 + length));
  return ID_PATTERN.test(id) ? id : null;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}
