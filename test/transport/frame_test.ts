/**
 * The frame format: a frame read back in any chunking yields the same fields; any change to any
 * byte, another key or another connection's challenge fails authentication; bad length prefixes
 * are refused before the body arrives.
 */
import fc from "fast-check";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  deriveFrameKey,
  encodeFrame,
  encodeHello,
  FRAME_LENGTH_PREFIX_BYTES,
  FrameReader,
  MAX_FRAME_BYTES,
  parseFrameBody,
  parseHello,
  verifyFrameMac,
} from "../../src/transport/frame.ts";

const key = deriveFrameKey("correct horse battery staple");
const challenge = new Uint8Array(16).fill(7);
const payload = new TextEncoder().encode('{"kind":"timeout-now"}');

function sampleFrame(sequence = 5): Uint8Array {
  return encodeFrame({ clusterId: "prod", senderId: "node1", sequence, payload }, key, challenge);
}

Deno.test("a frame cut into arbitrary chunks is read back with the same fields and a valid MAC", () => {
  const frames = [sampleFrame(0), sampleFrame(1), sampleFrame(2 ** 40)];
  const stream = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let offset = 0;
  for (const frame of frames) {
    stream.set(frame, offset);
    offset += frame.length;
  }
  fc.assert(
    fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 12 }), (cuts) => {
      const reader = new FrameReader();
      const bodies: Uint8Array[] = [];
      const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
      for (let i = 1; i < points.length; i++) {
        reader.push(stream.slice(points[i - 1], points[i]));
        for (let next = reader.next(); next.kind === "frame"; next = reader.next()) {
          bodies.push(next.body);
        }
      }
      assertEquals(bodies.length, 3);
      assertEquals(reader.bufferedBytes, 0);
      const sequences = bodies.map((body) => {
        const parsed = parseFrameBody(body);
        assert(parsed.ok);
        assert(verifyFrameMac(parsed.frame, key, challenge));
        assertEquals(parsed.frame.fields.clusterId, "prod");
        assertEquals(parsed.frame.fields.senderId, "node1");
        assertEquals(parsed.frame.fields.payload, payload);
        return parsed.frame.fields.sequence;
      });
      assertEquals(sequences, [0, 1, 2 ** 40]);
    }),
    { numRuns: 300 },
  );
});

Deno.test("flipping any byte of a frame body makes it unparseable or unauthenticated", () => {
  const frame = sampleFrame();
  for (let position = FRAME_LENGTH_PREFIX_BYTES; position < frame.length; position++) {
    const changed = frame.slice();
    changed[position]! ^= 0x01;
    const parsed = parseFrameBody(changed.subarray(FRAME_LENGTH_PREFIX_BYTES));
    assert(
      !parsed.ok || !verifyFrameMac(parsed.frame, key, challenge),
      `byte ${position} changed unnoticed`,
    );
  }
});

Deno.test("another secret, or another connection's challenge, fails authentication", () => {
  const parsed = parseFrameBody(sampleFrame().subarray(FRAME_LENGTH_PREFIX_BYTES));
  assert(parsed.ok);
  assert(verifyFrameMac(parsed.frame, key, challenge));
  assert(!verifyFrameMac(parsed.frame, deriveFrameKey("another secret"), challenge));
  assert(!verifyFrameMac(parsed.frame, key, new Uint8Array(16).fill(8)));
});

Deno.test("length prefixes over the limit or too small are refused as soon as they arrive", () => {
  const oversized = new FrameReader();
  oversized.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  const result = oversized.next();
  assert(result.kind === "error");
  assert(result.error.includes(`over the ${MAX_FRAME_BYTES}-byte limit`), result.error);

  const tiny = new FrameReader();
  tiny.push(new Uint8Array([0, 0, 0, 3, 1, 2, 3]));
  const tinyResult = tiny.next();
  assert(tinyResult.kind === "error" && tinyResult.error.includes("too small"));

  const partial = new FrameReader();
  partial.push(sampleFrame().subarray(0, 10));
  assertEquals(partial.next(), { kind: "need-more" });
});

Deno.test("a hello round-trips; a non-hactl greeting is recognised as such", () => {
  const parsed = parseHello(encodeHello(challenge));
  assertEquals(parsed, { ok: true, challenge });
  const http = parseHello(new TextEncoder().encode("HTTP/1.1 400 Bad Requ"));
  assert(!http.ok && http.error.includes("not a hactl raft port"));
  const future = encodeHello(challenge);
  future[4] = 2;
  const futureResult = parseHello(future);
  assert(!futureResult.ok && futureResult.error.includes("protocol version 2"));
});

Deno.test("frames refuse ids that are not ids and an empty secret", () => {
  let refused = 0;
  for (
    const [clusterId, senderId] of [["", "node1"], ["prod", "node 1"], [
      "x".repeat(64),
      "node1",
    ]] as const
  ) {
    try {
      encodeFrame({ clusterId, senderId, sequence: 0, payload }, key, challenge);
    } catch {
      refused++;
    }
  }
  assertEquals(refused, 3);
  let emptySecretRefused = false;
  try {
    deriveFrameKey("");
  } catch (error) {
    emptySecretRefused = String(error).includes("empty");
  }
  assert(emptySecretRefused);
});
