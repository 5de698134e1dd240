/**
 * `hactl show systemd` prints a unit that `systemd-analyze verify` accepts without a single
 * warning, with the choices the operator relies on (the agent's user, KillMode=process,
 * Restart=on-failure, Type=simple, reload by SIGHUP); and the same verification does flag a
 * unit with a mistake in it, so that its silence means something.
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import { hactl } from "../cluster/hactl_process.ts";

const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";
const missingReason = await Deno.stat(SYSTEMD_ANALYZE).then(
  () => null,
  () => `${SYSTEMD_ANALYZE} is missing (Debian package: systemd)`,
);
if (missingReason !== null) console.log(`skipping the systemd unit test: ${missingReason}`);

/** Runs `systemd-analyze verify` on `text` saved as hactl.service; its output and code. */
async function verify(text: string): Promise<{ code: number; output: string }> {
  const directory = await Deno.makeTempDir({ prefix: "hactl-systemd-" });
  try {
    await Deno.writeTextFile(`${directory}/hactl.service`, text);
    const result = await new Deno.Command(SYSTEMD_ANALYZE, {
      args: ["verify", `${directory}/hactl.service`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const output = decoder.decode(result.stdout) + decoder.decode(result.stderr);
    return { code: result.code, output: output.trim() };
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test({
  name: "hactl show systemd prints a unit that systemd-analyze verify accepts",
  ignore: missingReason !== null,
  fn: async () => {
    // The executable must exist for verify: any real program stands in for the binary.
    const shown = await hactl(["show", "systemd", "--executable", "/bin/true"]);
    assertEquals(shown.code, 0, shown.output);
    const unit = shown.output;
    for (
      const line of [
        "User=postgres",
        "KillMode=process",
        "Restart=on-failure",
        "Type=simple",
        "ExecStart=/bin/true run --config /etc/hactl/hactl.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
      ]
    ) assert(unit.split("\n").includes(line), `unit has ${line}:\n${unit}`);
    const verified = await verify(unit);
    assertEquals(verified, { code: 0, output: "" }, "systemd-analyze verify");

    const broken = await verify(unit.replace("KillMode=process", "KillMode=procss"));
    assert(broken.output.includes("procss"), `verify flags a bad KillMode: ${broken.output}`);
  },
});

Deno.test("hactl show refuses an unknown subject and a relative executable path", async () => {
  const unknown = await hactl(["show", "upstart"]);
  assertEquals(unknown.code, 2, unknown.output);
  assert(unknown.output.includes('expected "systemd"'), unknown.output);
  const relative = await hactl(["show", "systemd", "--executable", "bin/hactl"]);
  assertEquals(relative.code, 2, relative.output);
  assert(relative.output.includes("absolute path"), relative.output);
});
