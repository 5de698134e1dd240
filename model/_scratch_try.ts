// scratch (to be deleted): try a control. args: N scenario faults(comma) invariant depth [boundsKey]
import { createClusterModel } from "./cluster_model.ts";
import { defaultExploreOptions, explore, formatTrace } from "./explorer.ts";
import { DEFAULT_BOUNDS, FIGURE_8_BOUNDS, issueBounds } from "./runs.ts";
import { startOf } from "./warm_start.ts";
import { NO_FAULTS } from "../src/core/mod.ts";
const [n, scenario, faultList, invariant, depth, boundsKey] = Deno.args;
const extra = issueBounds(DEFAULT_BOUNDS);
const bounds = boundsKey === "figure8" ? FIGURE_8_BOUNDS : boundsKey ? extra[boundsKey]! : DEFAULT_BOUNDS;
const faults = { ...NO_FAULTS, ...Object.fromEntries(faultList!.split(",").filter((x) => x).map((f) => [f, true])) };
const options = { name: "try", nodeCount: Number(n), faults, bounds, start: scenario === "cold" ? "cold" as const : "warm" as const, invariants: invariant === "all" ? "all" as const : [invariant!] };
// deno-lint-ignore no-explicit-any
const start = startOf(options, scenario as any);
const model = createClusterModel(options, start.state);
const report = explore(model, defaultExploreOptions({ maxDepth: Number(depth), maxStates: 2_000_000, stopOnViolation: true }));
console.log(`states ${report.states} depth ${report.maxDepthReached} seconds ${report.seconds.toFixed(1)} complete ${report.complete}`);
for (const v of report.violations) console.log(v.property, v.actions.length, "\n" + formatTrace(model as never, v));
