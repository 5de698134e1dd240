/**
 * The clock offset bounds: against a simulated peer whose true offset is known, the bounds
 * always hold it, also when its `Date` header is whole seconds cached up to a second behind
 * (as Deno's is); hactl's exact header bounds it to one round trip; contradicting samples
 * give null.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  certainOffsetMs,
  dateHeaderSample,
  type DateSample,
  exactSample,
  offsetBounds,
} from "../../src/cli/doctor/clock_offset.ts";

/**
 * A request sent at `sentMs` (local), answered 8 ms later by a peer `offsetMs` ahead whose
 * `Date` header is cached `staleMs` behind its clock.
 */
function sample(sentMs: number, offsetMs: number, staleMs = 0): DateSample {
  const peerMs = sentMs + 3 + offsetMs - staleMs;
  return dateHeaderSample(sentMs, sentMs + 8, Math.floor(peerMs / 1000) * 1000);
}

Deno.test("offset bounds hold the true offset; an exact reading narrows them to a round trip", () => {
  for (const offsetMs of [-2_750, -300, 0, 120, 549, 5_000, 86_400_123]) {
    for (const startMs of [1_700_000_000_000, 1_700_000_000_333, 1_700_000_000_999]) {
      for (const staleMs of [0, 400, 999]) {
        const samples = [0, 1, 2, 3, 4].map((index) =>
          sample(startMs + index * 230, offsetMs, staleMs)
        );
        const bounds = offsetBounds(samples)!;
        assert(
          bounds.lowMs <= offsetMs && offsetMs <= bounds.highMs,
          `${offsetMs} (stale ${staleMs}) in ${JSON.stringify(bounds)}`,
        );
        assert(bounds.highMs - bounds.lowMs <= 1240, `narrowed: ${JSON.stringify(bounds)}`);
        const single = offsetBounds([samples[0]!])!;
        assert(single.highMs - single.lowMs >= 2000, "one Date header leaves its whole window");
      }
      const exact = offsetBounds([exactSample(startMs, startMs + 8, startMs + 3 + offsetMs)])!;
      assert(exact.lowMs <= offsetMs && offsetMs <= exact.highMs);
      assertEquals(exact.highMs - exact.lowMs, 8, "an exact reading: one round trip wide");
    }
  }
});

Deno.test("certain offset is the distance of the bounds from zero; contradicting samples give null", () => {
  assertEquals(certainOffsetMs({ lowMs: 4_800, highMs: 5_100 }), 4_800);
  assertEquals(certainOffsetMs({ lowMs: -900, highMs: -600 }), 600);
  assertEquals(certainOffsetMs({ lowMs: -100, highMs: 200 }), 0);
  assertEquals(offsetBounds([]), null);
  // The peer's clock stepped back 10 s between two reads.
  assertEquals(offsetBounds([sample(1_000, 0), sample(1_230, -10_000)]), null);
});
