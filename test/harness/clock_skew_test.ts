// Proves the clock skew helper really changes the clocks a Deno process (like the hactl agent)
// sees: an offset moves Date.now(), a rate makes the wall clock drift, and fakeMonotonic decides
// whether performance.now() (the clock leases are measured with) drifts too. The kernel's
// /proc/uptime, which libfaketime cannot intercept, is the real reference.

import { assert, assertStringIncludes } from "./test_assertions.ts";
import { clockSkew } from "./clock_skew.ts";

/** Prints the ratios of Date and performance.now() progress to real (kernel) progress. */
const CLOCK_PROBE = `
const uptimeMs = () => Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 1000;
const startDate = Date.now(), startPerformance = performance.now(), startUptime = uptimeMs();
while (uptimeMs() - startUptime < 600) await new Promise((resolve) => setTimeout(resolve, 20));
const realMs = uptimeMs() - startUptime;
console.log(JSON.stringify({
  dateRatio: (Date.now() - startDate) / realMs,
  performanceRatio: (performance.now() - startPerformance) / realMs,
  offsetMs: Date.now() - Number(Deno.args[0]),
}));
`;

interface ClockRatios {
  readonly dateRatio: number;
  readonly performanceRatio: number;
  readonly offsetMs: number;
}

async function probeClocks(argvPrefix: readonly string[]): Promise<ClockRatios> {
  const [program, ...args] = [...argvPrefix, Deno.execPath(), "eval", CLOCK_PROBE];
  const output = await new Deno.Command(program ?? "env", {
    args: [...args, String(Date.now())],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert(
    output.success,
    `clock probe failed (exit ${output.code}, signal ${output.signal}): ${stderr}`,
  );
  return JSON.parse(stdout) as ClockRatios;
}

function near(actual: number, expected: number, tolerance: number): boolean {
  return Math.abs(actual - expected) <= tolerance;
}

Deno.test("an offset shifts the wall clock and leaves both clocks' rates alone", async () => {
  const clocks = await probeClocks(clockSkew({ offsetMs: -90_000 }).argvPrefix);
  // The offset is measured from the parent's Date.now() passed at spawn, so it includes the
  // child's startup and its 600 ms of sampling.
  assert(near(clocks.offsetMs, -90_000, 5_000), `offset ${clocks.offsetMs} ms`);
  assert(near(clocks.dateRatio, 1, 0.2), `date ratio ${clocks.dateRatio}`);
  assert(near(clocks.performanceRatio, 1, 0.2), `performance ratio ${clocks.performanceRatio}`);
});

Deno.test("a rate drifts the wall clock only, unless fakeMonotonic is set", async () => {
  const wallOnly = await probeClocks(clockSkew({ rate: 2 }).argvPrefix);
  assert(near(wallOnly.dateRatio, 2, 0.3), `wall clock at x2: ${wallOnly.dateRatio}`);
  assert(near(wallOnly.performanceRatio, 1, 0.2), `monotonic real: ${wallOnly.performanceRatio}`);

  const both = await probeClocks(clockSkew({ rate: 2, fakeMonotonic: true }).argvPrefix);
  assert(near(both.dateRatio, 2, 0.3), `wall clock at x2: ${both.dateRatio}`);
  assert(near(both.performanceRatio, 2, 0.3), `monotonic at x2: ${both.performanceRatio}`);
});

Deno.test("clockSkew rejects a nonsense rate with a message naming it", () => {
  let message = "";
  try {
    clockSkew({ rate: 0 });
  } catch (error) {
    message = String(error);
  }
  assertStringIncludes(message, "rate must be within");
});
