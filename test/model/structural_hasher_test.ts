// Proves that the model's structural hash treats equal values as equal whatever their key order
// or object identity, keeps different values apart (kinds, nesting, id roles), renames node ids
// everywhere they appear (values, id sets, id-keyed maps, `ANY k (...)`), and gives the same
// answer from its caches as from a cold hasher.
import { deepStrictEqual as assertEquals, notDeepStrictEqual } from "node:assert/strict";
import { renamingKey, StructuralHasher } from "../../model/structural_hasher.ts";

const IDS = ["n1", "n2", "n3"];
const IDENTITY = [0, 1, 2];
const SWAP_1_2 = [1, 0, 2];

function hashOf(value: unknown, rename = IDENTITY, hasher = new StructuralHasher(IDS)) {
  return hasher.hash(value, rename, renamingKey(rename));
}

Deno.test("key order and object identity do not change a record's hash", () => {
  const left = { term: 3, leader: "n2", log: [{ index: 1, term: 1 }], votes: { n1: true } };
  const right = { votes: { n1: true }, log: [{ term: 1, index: 1 }], leader: "n2", term: 3 };
  assertEquals(hashOf(left), hashOf(right));
});

Deno.test("different values hash apart: numbers, kinds, nesting, array order, undefined fields", () => {
  const distinct = [
    { a: 1 },
    { a: 2 },
    { a: "1" },
    { a: true },
    { a: null },
    { a: [1] },
    { a: { b: 1 } },
    { b: 1 },
    { a: 1, b: 1 },
    [1, 2],
    [2, 1],
    { a: 2 ** 33 },
    { a: 1, c: { d: [{ e: "x" }] } },
    { a: 1, c: { d: [{ e: "y" }] } },
  ];
  const hashes = distinct.map((value) => JSON.stringify(hashOf(value)));
  assertEquals(new Set(hashes).size, distinct.length);
  // A field holding undefined is left out, like the configuration and a vote's reason.
  assertEquals(hashOf({ a: 1, b: undefined }), hashOf({ a: 1 }));
  assertEquals(hashOf({ a: 1, config: { x: 1 }, reason: "why" }), hashOf({ a: 1 }));
});

Deno.test("node ids are renamed in values, id sets, id-keyed maps and synchronous_standby_names", () => {
  const state = {
    leader: "n1",
    voters: ["n1", "n3"],
    progress: { n1: { match: 4 }, n2: { match: 2 } },
    sync: 'ANY 1 ("n1", "n3")',
  };
  const renamed = {
    leader: "n2",
    voters: ["n2", "n3"],
    progress: { n2: { match: 4 }, n1: { match: 2 } },
    sync: 'ANY 1 ("n2", "n3")',
  };
  assertEquals(hashOf(state, SWAP_1_2), hashOf(renamed, IDENTITY));
  notDeepStrictEqual(hashOf(state, IDENTITY), hashOf(renamed, IDENTITY));
  // Id sets are sets: the order of the names does not matter, their roles do.
  assertEquals(hashOf({ voters: ["n3", "n1"] }), hashOf({ voters: ["n1", "n3"] }));
  notDeepStrictEqual(
    hashOf({ progress: { n1: 1, n2: 2 } }),
    hashOf({ progress: { n1: 2, n2: 1 } }),
  );
});

Deno.test("cached hashes equal cold ones, across renamings of shared objects", () => {
  const shared = { log: Array.from({ length: 20 }, (_, index) => ({ index, term: 1 })) };
  const withIds = { ...shared, leader: "n2", votes: { n1: true, n3: false }, peers: ["n1", "n2"] };
  const warm = new StructuralHasher(IDS);
  for (const rename of [IDENTITY, SWAP_1_2, [0, 1, 1], [2, 1, 0], IDENTITY, SWAP_1_2]) {
    assertEquals(hashOf(withIds, rename, warm), hashOf(withIds, rename));
    assertEquals(hashOf(shared, rename, warm), hashOf(shared, rename));
  }
});

Deno.test("a quorum rule's names are a set even with names that are not node ids", () => {
  // The id set sorts renamed indexes and non-id names together (in a reused scratch array):
  // any order of the same names gives the same hash, other names or counts do not.
  const rule = (names: string) => ({ sync: `ANY 2 (${names})` });
  const orders = ['"n3", "gate", "n1"', '"gate", "n1", "n3"', '"n1", "n3", "gate"'];
  const hashes = orders.map((names) => JSON.stringify(hashOf(rule(names))));
  assertEquals(new Set(hashes).size, 1);
  notDeepStrictEqual(hashOf(rule('"n3", "other", "n1"')), hashOf(rule(orders[0]!)));
  notDeepStrictEqual(hashOf({ sync: 'ANY 1 ("n3", "gate", "n1")' }), hashOf(rule(orders[0]!)));
  // A longer set first, then a shorter one: no stale scratch entry leaks into the second.
  assertEquals(hashOf(rule(orders[0]!)), hashOf(rule(orders[1]!)));
  assertEquals(hashOf({ voters: ["n2"] }), hashOf({ voters: ["n2"] }, IDENTITY));
});
