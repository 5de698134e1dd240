/**
 * The operator commands against real API servers on 127.0.0.1 (each serving a stand-in agent):
 * `hactl status` finds every member from one address and prints a row each (unreachable ones
 * too), switchover follows a "not the leader" answer to the leader, members and pause send the
 * right requests, and command-line mistakes exit with 2 and say what is wrong.
 */
import { reinitCommand } from "../../src/cli/reinit_command.ts";
import { historyCommand } from "../../src/cli/history_command.ts";
import { whyCommand } from "../../src/cli/why_command.ts";
import { editConfigCommand, showConfigCommand } from "../../src/cli/config_command.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type ApiServer, startApiServer } from "../../src/api/server.ts";
import { OPERATOR_COMMANDS } from "../../src/cli/commands.ts";
import {
  renderStatusReport,
  STATUS_COLUMNS,
  statusCommand,
  statusRows,
} from "../../src/cli/status_command.ts";
import { switchoverCommand } from "../../src/cli/switchover_command.ts";
import { membersCommand } from "../../src/cli/members_command.ts";
import { pauseCommand } from "../../src/cli/pause_command.ts";
import { LIST_COLUMNS, listCommand, type ListRow } from "../../src/cli/list_command.ts";
import { dsnCommand } from "../../src/cli/dsn_command.ts";
import { failoverCommand } from "../../src/cli/failover_command.ts";
import { type MemberVersion, versionCommand } from "../../src/cli/version_command.ts";
import { VERSION } from "../../src/version.ts";
import { reloadCommand, type ReloadResult } from "../../src/cli/reload_command.ts";
import { restartCommand } from "../../src/cli/restart_command.ts";
import type { ReloadOutcome } from "../../src/api/reload_routes.ts";
import type { CommandOutput } from "../../src/cli/operator_options.ts";
import type { AgentStatus } from "../../src/agent/agent_handle.ts";
import { FakeAgent, member, observation, TEST_SECRET } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

/** Captures what a command prints. */
class CapturedOutput implements CommandOutput {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  out(text: string): void {
    this.lines.push(text);
  }
  error(text: string): void {
    this.errors.push(text);
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

/** n1 leads with a primary; n2 and n3 stream from it. */
function threeAgents(): FakeAgent[] {
  const leader = new FakeAgent("n1");
  leader.peers = [
    { id: "n2", voter: true, matchIndex: 9, position: null, lagBytes: 96, ticksSinceResponse: 1 },
    {
      id: "n3",
      voter: true,
      matchIndex: 9,
      position: null,
      lagBytes: 3 * 1024 * 1024,
      ticksSinceResponse: 1,
    },
  ];
  return [leader, new FakeAgent("n2").becomeStandby("n1"), new FakeAgent("n3").becomeStandby("n1")];
}

/** Starts one real API server per agent and tells every agent the others' addresses. */
async function withCluster(
  body: (
    agents: FakeAgent[],
    servers: ApiServer[],
    apis: string[],
    secretFile: string,
  ) => Promise<void>,
): Promise<void> {
  const agents = threeAgents();
  const servers = agents.map((agent) =>
    startApiServer(agent, { hostname: "127.0.0.1", port: 0, tokens: TEST_TOKENS })
  );
  const open = new Set(servers);
  const directory = await Deno.makeTempDir({ prefix: "hactl-api-cli-test-" });
  try {
    const members = agents.map((agent, index) => member(agent.nodeId, servers[index]!.port));
    for (const agent of agents) agent.members = members;
    const secretFile = `${directory}/cluster.secret`;
    await Deno.writeTextFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    const closing = servers.map((server) => ({
      port: server.port,
      close: async () => {
        if (open.delete(server)) await server.close();
      },
    }));
    await body(agents, closing, servers.map((server) => `127.0.0.1:${server.port}`), secretFile);
  } finally {
    await Promise.all([...open].map((server) => server.close()));
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("the status table has a row per member with every column", () => {
  const statuses = new Map<string, AgentStatus | null>(
    threeAgents().map((agent) => [agent.nodeId, agent.status()]),
  );
  statuses.set("n4", null);
  const table = renderStatusReport(statuses);
  const lines = table.split("\n");
  assertEquals(lines[0]!.split(/\s+/), [...STATUS_COLUMNS]);
  assert(/^n1\s+primary\s+leader\s+primary\s+2\s+0\/3000060\s+0 B\s+3\s+n1$/m.test(table), table);
  assert(
    /^n2\s+standby\s+follower\s+standby of n1\s+2\s+0\/3000000\s+96 B\s+3\s+n1$/m.test(table),
    table,
  );
  assert(
    /^n3\s+standby\s+follower\s+standby of n1\s+2\s+0\/3000000\s+3\.0 MiB\s+3\s+n1$/m.test(table),
    table,
  );
  assert(/^n4\s+unreachable(\s+-)+$/m.test(table), table);
  const columnStart = lines[0]!.indexOf("lsn");
  for (const line of lines.slice(1, 4)) {
    assertEquals(line.slice(columnStart).split(" ")[0]![0], "0", "aligned");
  }
  assertEquals(statusRows(statuses).length, 4);
  assert(!table.includes("opt out"), table);
  const primary = threeAgents()[0]!;
  primary.durabilityOptOuts = [
    { role: "app", database: null, setting: "synchronous_commit", value: "local" },
  ];
  statuses.set(primary.nodeId, primary.status());
  assert(
    renderStatusReport(statuses).includes(
      "n1: sessions opt out of acknowledged durability (D1) by synchronous_commit = local " +
        "for role app in every database",
    ),
  );
});

Deno.test("hactl status finds every member from one address and shows unreachable ones", async () => {
  await withCluster(async (_agents, servers, apis) => {
    const output = new CapturedOutput();
    assertEquals(await statusCommand(["--api", apis[1]!], output), 0, output.errors.join("\n"));
    assert(/^n1\s+primary\s+leader/m.test(output.text), output.text);
    assert(/^n2\s+standby\s+follower/m.test(output.text), output.text);
    assert(/^n3\s+standby\s+follower/m.test(output.text), output.text);

    const json = new CapturedOutput();
    assertEquals(await statusCommand(["--json", "--api", apis[0]!], json), 0);
    const parsed = JSON.parse(json.text) as Record<string, AgentStatus>;
    assertEquals(Object.keys(parsed), ["n1", "n2", "n3"]);
    assertEquals(parsed.n2?.raft.leader, "n1");

    await servers[2]!.close();
    const partial = new CapturedOutput();
    assertEquals(await statusCommand(["--api", apis[0]!], partial), 0);
    assert(/^n3\s+unreachable/m.test(partial.text), partial.text);
    assert(/^n1\s+primary/m.test(partial.text), partial.text);

    const none = new CapturedOutput();
    assertEquals(await statusCommand(["--api", apis[2]!], none), 1);
    assert(none.errors.join("\n").includes("no agent answered"), none.errors.join("\n"));
  });
});

Deno.test("switchover sent to a standby is followed to the leader once", async () => {
  await withCluster(async (agents, _servers, apis, secretFile) => {
    const output = new CapturedOutput();
    const code = await switchoverCommand([
      "--to",
      "n3",
      "--api",
      apis[1]!,
      "--api",
      apis[0]!,
      "--secret-file",
      secretFile,
    ], output);
    assertEquals(code, 0, output.errors.join("\n"));
    assertEquals(agents[1]!.submitted.length, 1, "the standby refused it");
    assertEquals(
      agents[0]!.submitted.map((request) => request.kind === "transfer" && request.target),
      ["n3"],
    );
    assert(output.text.includes(`accepted by ${apis[0]}`), output.text);

    // A leader that keeps pointing elsewhere is not followed in circles.
    agents[0]!.becomeStandby("n2");
    const looping = new CapturedOutput();
    assertEquals(
      await switchoverCommand(
        ["--api", apis[1]!, "--api", apis[0]!, "--secret-file", secretFile],
        looping,
      ),
      1,
    );
    assertEquals(agents[1]!.submitted.length, 2, "asked once, not again after the hint");
    assert(looping.errors.join("\n").includes("HTTP 409"), looping.errors.join("\n"));
  });
});

Deno.test("the secret is not sent to a leader address that is not a configured member", async () => {
  await withCluster(async (agents, _servers, apis, secretFile) => {
    // The standby names a leader at an address nobody configured: a listener there records
    // whatever reaches it.
    const seen: string[] = [];
    const stranger = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => {
        seen.push(request.headers.get("authorization") ?? "");
        return new Response("{}", { status: 200 });
      },
    );
    try {
      agents[1]!.members = [...agents[1]!.members.filter((m) => m.id !== "n1"), {
        ...member("n1", stranger.addr.port),
      }];
      agents[1]!.answer = { ok: false, error: "not the leader", leaderHint: "n1" };
      const output = new CapturedOutput();
      const code = await switchoverCommand(
        ["--api", apis[1]!, "--secret-file", secretFile],
        output,
      );
      assertEquals(code, 1, output.text);
      assertEquals(seen, [], "nothing was sent to the unconfigured address");
      const errors = output.errors.join("\n");
      assert(errors.includes(`127.0.0.1:${stranger.addr.port}`), errors);
      assert(errors.includes("not a configured member"), errors);
    } finally {
      await stranger.shutdown();
    }
  });
});

Deno.test("the next API is tried only when the first is unreachable", async () => {
  await withCluster(async (agents, servers, apis, secretFile) => {
    await servers[1]!.close();
    const output = new CapturedOutput();
    const code = await pauseCommand(true, [
      "--api",
      apis[1]!,
      "--api",
      apis[0]!,
      "--secret-file",
      secretFile,
    ], output);
    assertEquals(code, 0, output.errors.join("\n"));
    assert(output.errors[0]!.includes("unreachable"), output.errors.join("\n"));
    assertEquals(
      agents[0]!.submitted.map((request) => request.kind === "propose" && request.command),
      [
        { kind: "pause", paused: true },
      ],
    );
  });
});

Deno.test("members list, add and remove talk to the leader", async () => {
  await withCluster(async (agents, _servers, apis, secretFile) => {
    agents[0]!.learners = ["n4"];
    const list = new CapturedOutput();
    assertEquals(
      await membersCommand(["list", "--api", apis[2]!], list),
      0,
      list.errors.join("\n"),
    );
    assert(/^n1\s+voter\s+yes\s+leader$/m.test(list.text), list.text);
    assert(/^n4\s+learner\s+no$/m.test(list.text), list.text);
    const json = new CapturedOutput();
    assertEquals(await membersCommand(["--json", "--api", apis[2]!], json), 0);
    assertEquals(JSON.parse(json.text).learners, ["n4"]);

    const removed = new CapturedOutput();
    assertEquals(
      await membersCommand(
        ["remove", "n3", "--api", apis[0]!, "--secret-file", secretFile],
        removed,
      ),
      0,
    );
    assertEquals(agents[0]!.submitted.at(-1)?.kind, "remove-member");
    assertEquals(
      await membersCommand(["add", "n4", "--api", apis[0]!, "--secret-file", secretFile], removed),
      0,
    );
    assertEquals(agents[0]!.submitted.at(-1)?.kind, "add-learner");
  });
});

Deno.test("command-line mistakes exit with 2 and say what is wrong", async () => {
  await withCluster(async (agents, _servers, apis, secretFile) => {
    const cases: [(args: string[], output: CommandOutput) => Promise<number>, string[], string][] =
      [
        [statusCommand, ["--api", apis[0]!, "--colour"], "--colour"],
        [statusCommand, [], "--api HOST:PORT or --config FILE"],
        [statusCommand, ["--api", "localhost"], "expected HOST:PORT"],
        [statusCommand, ["--api", apis[0]!, "extra"], "unexpected argument"],
        [switchoverCommand, ["--api", apis[0]!], "needs the cluster secret"],
        [switchoverCommand, ["--api", apis[0]!, "--to"], "--to"],
        [
          membersCommand,
          ["frobnicate", "--api", apis[0]!, "--secret-file", secretFile],
          'expected "list"',
        ],
        [
          membersCommand,
          ["add", "--api", apis[0]!, "--secret-file", secretFile],
          'expected "list"',
        ],
        [(args, output) => pauseCommand(false, args, output), [
          "--api",
          apis[0]!,
          "--secret-file",
          "/nonexistent/secret",
        ], "/nonexistent/secret"],
        [statusCommand, ["--config", "/nonexistent/hactl.toml"], "/nonexistent/hactl.toml"],
      ];
    for (const [command, args, message] of cases) {
      const output = new CapturedOutput();
      assertEquals(
        await command(args, output),
        2,
        `${args.join(" ")}: ${output.errors.join("\n")}`,
      );
      assert(
        output.errors.join("\n").includes(message),
        `${args.join(" ")} should mention ${message}: ${output.errors}`,
      );
    }
    assertEquals(
      agents.flatMap((agent) => agent.submitted).length,
      0,
      "no mistake reached an agent",
    );
  });
});

Deno.test("every operator command has a summary and help exits 0", async () => {
  assertEquals(Object.keys(OPERATOR_COMMANDS).sort(), [
    "dsn",
    "edit-config",
    "failover",
    "history",
    "list",
    "members",
    "pause",
    "reinit",
    "reload",
    "restart",
    "resume",
    "show-config",
    "status",
    "switchover",
    "token",
    "version",
    "why",
  ]);
  const helps: [string, (args: string[], output: CommandOutput) => Promise<number>][] = [
    ["list", listCommand],
    ["dsn", dsnCommand],
    ["failover", failoverCommand],
    ["switchover", switchoverCommand],
    ["version", versionCommand],
    ["reload", reloadCommand],
    ["reinit", reinitCommand],
    ["restart", restartCommand],
    ["show-config", showConfigCommand],
    ["edit-config", editConfigCommand],
    ["why", whyCommand],
    ["history", historyCommand],
  ];
  for (const [name, run] of helps) {
    const help = new CapturedOutput();
    assertEquals(await run(["--help", "--api", "127.0.0.1:1"], help), 0, name);
    assert(help.text.startsWith(`usage: hactl ${name}`), help.text);
  }
  const output = new CapturedOutput();
  assertEquals(await statusCommand(["--help"], output), 0);
  assert(output.text.startsWith("usage: hactl status"));
  for (const command of Object.values(OPERATOR_COMMANDS)) assert(command.summary.length > 10);
});

Deno.test("hactl list shows Patroni's columns: quorum marker, lag, tags, unreachable members", async () => {
  await withCluster(async (agents, servers, apis) => {
    agents[2]!.tags = { nofailover: "true" };
    const output = new CapturedOutput();
    assertEquals(await listCommand(["--api", apis[0]!], output), 0, output.errors.join("\n"));
    const lines = output.text.split("\n");
    assertEquals(lines[0], "Cluster: test");
    assertEquals(lines[1]!.split(/\s{2,}/), [...LIST_COLUMNS]);
    const row = (id: string) => lines.find((line) => line.startsWith(id))!.split(/\s{2,}/);
    assertEquals(row("n1").slice(0, 6), ["n1", "127.0.0.1:5432", "Leader", "primary", "2", "0"]);
    assertEquals(row("n2").slice(2, 3), ["Quorum Standby"]);
    assertEquals(row("n3").slice(-3), ["3", "-", "nofailover=true"], "3 MiB behind, tagged");

    const json = new CapturedOutput();
    await servers[2]!.close();
    assertEquals(await listCommand(["--api", apis[0]!, "--json"], json), 0);
    const parsed = JSON.parse(json.text) as { cluster: string; members: ListRow[] };
    assertEquals(parsed.members.map((member) => [member.member, member.state]), [
      ["n1", "primary"],
      ["n2", "standby of n1"],
      ["n3", "unreachable"],
    ]);
  });
});

Deno.test("hactl list --watch prints the list again, --count times", async () => {
  await withCluster(async (_agents, _servers, apis) => {
    const output = new CapturedOutput();
    const code = await listCommand(
      ["--api", apis[0]!, "--watch", "0.05", "--count", "3", "--json"],
      output,
    );
    assertEquals(code, 0);
    assertEquals(output.lines.length, 3);
    const bad = new CapturedOutput();
    assertEquals(await listCommand(["--api", apis[0]!, "--watch", "-1"], bad), 2);
  });
});

Deno.test("hactl dsn prints the libpq multi-host URI of every member", async () => {
  await withCluster(async (agents, _servers, apis) => {
    agents[0]!.members = agents[0]!.members.map((m, index) => ({
      ...m,
      postgres: { hostname: index === 2 ? "fd00::3" : `10.0.0.${index + 1}`, port: 5432 },
    }));
    const output = new CapturedOutput();
    assertEquals(await dsnCommand(["--api", apis[0]!, "--user", "app"], output), 0);
    assertEquals(
      output.text,
      "postgresql://app@10.0.0.1:5432,10.0.0.2:5432,[fd00::3]:5432/postgres" +
        "?target_session_attrs=read-write",
    );
    const standby = new CapturedOutput();
    assertEquals(await dsnCommand(["--api", apis[0]!, "--role", "standby", "--json"], standby), 0);
    assert(JSON.parse(standby.text).dsn.endsWith("target_session_attrs=prefer-standby"));
    assertEquals(
      await dsnCommand(["--api", apis[0]!, "--role", "leader"], new CapturedOutput()),
      2,
    );
  });
});

Deno.test("hactl failover: refused on a healthy primary without --force, confirmed, followed to the leader", async () => {
  await withCluster(async (agents, _servers, apis, secretFile) => {
    const base = ["--api", apis[1]!, "--api", apis[0]!, "--secret-file", secretFile];
    const yes = () => Promise.resolve(true);
    const healthy = new CapturedOutput();
    assertEquals(await failoverCommand([...base, "--candidate", "n3"], healthy, yes), 1);
    assert(healthy.errors.join("\n").includes("is healthy"), healthy.errors.join("\n"));
    assertEquals(agents[0]!.submitted.length, 0, "the leader submitted nothing");

    const declined = new CapturedOutput();
    agents[0]!.postgres = observation({ fenced: true });
    assertEquals(await failoverCommand(base, declined, () => Promise.resolve(false)), 1);
    assert(declined.errors.join("\n").includes("not confirmed"));
    assertEquals(agents[0]!.submitted.length, 0);

    const confirmed = new CapturedOutput();
    const asked: string[] = [];
    const code = await failoverCommand([...base, "--candidate", "n3", "--json"], confirmed, (q) => {
      asked.push(q);
      return Promise.resolve(true);
    });
    assertEquals(code, 0, confirmed.errors.join("\n"));
    assertEquals(asked, ["Fail over from n1 to n3?"]);
    assertEquals(agents[1]!.submitted.length, 2, "the standby was asked first (twice) and refused");
    assertEquals(
      agents[0]!.submitted.map((request) => request.kind === "transfer" && request.target),
      ["n3"],
    );
    assertEquals(JSON.parse(confirmed.text).kind, "done");

    agents[0]!.postgres = observation();
    const forced = new CapturedOutput();
    const never = () => Promise.reject(new Error("--force must not ask"));
    assertEquals(await failoverCommand([...base, "--force"], forced, never), 0);
    assertEquals(agents[0]!.submitted.length, 2);
  });
});

Deno.test("hactl version lists every member's hactl and Postgres version", async () => {
  await withCluster(async (agents, servers, apis) => {
    agents[0]!.details = {
      serverVersion: 150004,
      postmasterStartIso: "2026-01-01T00:00:00Z",
      inRecovery: false,
      receivedLsn: null,
      replayedLsn: null,
      replayedTimestampIso: null,
      replayPaused: false,
      walReceiverStatus: null,
      replayLagSeconds: 0,
      replication: [],
    };
    await servers[2]!.close();
    const output = new CapturedOutput();
    assertEquals(await versionCommand(["--api", apis[0]!, "--json"], output), 0);
    const answer = JSON.parse(output.text) as { hactl: string; members: MemberVersion[] };
    assertEquals(answer.hactl, VERSION);
    assertEquals(answer.members.map((m) => [m.member, m.hactl]), [
      ["n1", VERSION],
      ["n2", VERSION],
      ["n3", null],
    ]);
    assertEquals(answer.members[0]!.postgres, "15.4");
    const local = new CapturedOutput();
    assertEquals(await versionCommand([], local), 0);
    assertEquals(local.text, `hactl ${VERSION}`);
  });
});

Deno.test("hactl switchover --wait returns once the new primary is writable; --scheduled needs a zone and returns at once", async () => {
  await withCluster(async (agents, _servers, apis, secretFile) => {
    const base = ["--api", apis[0]!, "--api", apis[1]!, "--secret-file", secretFile];
    // The stand-in leader "performs" the transfer: n2 takes over as soon as it is asked.
    const leader = agents[0]!;
    const submit = leader.submit.bind(leader);
    leader.submit = (request) => {
      const answer = submit(request);
      leader.becomeStandby("n2");
      agents[1]!.raftRole = "leader";
      agents[1]!.leader = "n2";
      agents[1]!.writeAuthority = true;
      agents[1]!.postgres = observation();
      agents[1]!.term = 4;
      agents[1]!.answer = { ok: true, error: null, leaderHint: null };
      return answer;
    };
    const output = new CapturedOutput();
    const code = await switchoverCommand(
      [...base, "--to", "n2", "--wait", "--timeout", "10"],
      output,
    );
    assertEquals(code, 0, output.errors.join("\n"));
    assert(output.text.includes("n2 is the primary and accepts writes"), output.text);

    const zone = new CapturedOutput();
    assertEquals(
      await switchoverCommand([...base, "--scheduled", "2026-05-01T02:00:00"], zone),
      2,
    );
    assert(zone.errors.join("\n").includes("time zone"), zone.errors.join("\n"));
    // Scheduled: posted to the leader (n2 now, found through n1's 409) and returned at once.
    const soon = new CapturedOutput();
    const at = new Date(Date.now() + 60_000).toISOString();
    assertEquals(await switchoverCommand([...base, "--scheduled", at], soon), 0);
    assert(soon.text.includes(`switchover scheduled at ${at} from n2`), soon.text);
    const recorded = agents[1]!.submitted.at(-1);
    assert(
      recorded?.kind === "propose" && recorded.command.kind === "kv" &&
        recorded.command.key === "switchover/scheduled",
      JSON.stringify(recorded),
    );
    const waitToo = new CapturedOutput();
    assertEquals(await switchoverCommand([...base, "--scheduled", at, "--wait"], waitToo), 2);
  });
});

Deno.test("hactl reload asks each member's own API and reports what changed or why not", async () => {
  const outcomes: ReloadOutcome[] = [{ changed: ["gateway.listen"] }, { error: "line 3: bad" }];
  const agents = [new FakeAgent("n1"), new FakeAgent("n2").becomeStandby("n1")];
  const servers = agents.map((agent, index) =>
    startApiServer(agent, {
      hostname: "127.0.0.1",
      port: 0,
      tokens: TEST_TOKENS,
      reloadNodeFile: () => Promise.resolve(outcomes[index]!),
    })
  );
  const directory = await Deno.makeTempDir({ prefix: "hactl-reload-cli-" });
  try {
    const members = agents.map((agent, index) => member(agent.nodeId, servers[index]!.port));
    for (const agent of agents) agent.members = members;
    const secretFile = `${directory}/cluster.secret`;
    await Deno.writeTextFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    const apis = servers.map((server) => `127.0.0.1:${server.port}`);
    const both = new CapturedOutput();
    const args = ["--api", apis[0]!, "--api", apis[1]!, "--secret-file", secretFile, "--json"];
    assertEquals(await reloadCommand(args, both), 1, "one member refused its file");
    const results = JSON.parse(both.text) as ReloadResult[];
    assertEquals(results.map((r) => [r.member, r.ok, r.changed]), [
      ["n1", true, ["gateway.listen"]],
      ["n2", false, []],
    ]);
    assert(results[1]!.error!.includes("line 3: bad"), results[1]!.error!);

    // Only n1's API was given: n2 is named but its API is not configured, so not asked.
    const one = new CapturedOutput();
    const only = ["n1", "n2", "--api", apis[0]!, "--secret-file", secretFile];
    assertEquals(await reloadCommand(only, one), 1);
    assert(one.text.includes(`not configured: pass --api ${apis[1]}`), one.text);
    assert(/n1\s+yes\s+gateway\.listen/.test(one.text), one.text);
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    await Deno.remove(directory, { recursive: true });
  }
});
