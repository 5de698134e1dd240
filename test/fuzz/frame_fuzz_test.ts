/**
 * Fuzz target: the frame decoder. Arbitrary bytes, cut into arbitrary chunks, and valid frames
 * with bytes flipped or cut, never make FrameReader, parseFrameBody, parseHello or
 * verifyFrameMac throw: every input ends as a frame, "need-more" or a refusal, and nothing
 * but a correctly signed frame authenticates.
 */
import { ok as assert } from "node:assert/strict";
import fc from "fast-check";
import {
  deriveFrameKey,
  encodeFrame,
  FrameReader,
  MAX_UNAUTHENTICATED_FRAME_BYTES,
  parseFrameBody,
  parseHello,
  verifyFrameMac,
} from "../../src/transport/frame.ts";
import { fuzzParameters } from "./fuzz_runs.ts";

const KEY = deriveFrameKey("fuzz-secret-0123456789abcdef");
const CHALLENGE = new Uint8Array(16).fill(7);

/** Feeds chunks to a reader and checks every frame it yields; returns how many authenticated. */
function readAll(chunks: readonly Uint8Array[], maxBodyBytes?: number): number {
  const reader = new FrameReader();
  let authenticated = 0;
  for (const chunk of chunks) {
    reader.push(chunk);
    for (;;) {
      const next = reader.next(maxBodyBytes);
      if (next.kind !== "frame") break;
      const parsed = parseFrameBody(next.body);
      if (parsed.ok && verifyFrameMac(parsed.frame, KEY, CHALLENGE)) authenticated++;
    }
  }
  return authenticated;
}

Deno.test("fuzz: random bytes in random chunks never throw and never authenticate", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
      assert(readAll(chunks) === 0);
      assert(readAll(chunks, MAX_UNAUTHENTICATED_FRAME_BYTES) === 0);
      for (const chunk of chunks) parseHello(chunk);
    }),
    fuzzParameters(),
  );
});

Deno.test("fuzz: a signed frame with bytes flipped or cut never throws; only the intact one authenticates", () => {
  const frameArbitrary = fc.record({
    payload: fc.uint8Array({ maxLength: 200 }),
    sequence: fc.oneof(fc.nat({ max: 10 }), fc.maxSafeNat()),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
    cut: fc.option(fc.nat()),
  });
  fc.assert(
    fc.property(frameArbitrary, ({ payload, sequence, flips, cut }) => {
      const frame = encodeFrame(
        { clusterId: "fuzz", senderId: "node1", sequence, payload },
        KEY,
        CHALLENGE,
      );
      const damaged = frame.slice(0, cut === null ? frame.length : cut % (frame.length + 1));
      for (const [position, mask] of flips) {
        if (damaged.length > 0) damaged[position % damaged.length]! ^= mask;
      }
      const intact = flips.length === 0 && damaged.length === frame.length;
      const authenticated = readAll([damaged]);
      assert(
        authenticated === (intact ? 1 : 0),
        `authenticated ${authenticated}, intact ${intact}`,
      );
    }),
    fuzzParameters(),
  );
});
