/**
 * The operator commands against real API servers on 127.0.0.1 (each serving a stand-in agent):
 * `hactl status` finds every member from one address and prints a row each (unreachable ones
 * too), switchover follows a "not the leader" answer to the leader, members and pause send the
 * right requests, and command-line mistakes exit with 2 and say what is wrong.
 */
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
import type { CommandOutput } from "../../src/cli/operator_options.ts";
import type { AgentStatus } from "../../src/agent/agent_handle.ts";
import { FakeAgent, member, TEST_SECRET } from "./fake_agent.ts";

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
    startApiServer(agent, { hostname: "127.0.0.1", port: 0, secret: TEST_SECRET })
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
      await switchoverCommand(["--api", apis[1]!, "--secret-file", secretFile], looping),
      1,
    );
    assertEquals(agents[1]!.submitted.length, 2, "asked once, not again after the hint");
    assert(looping.errors.join("\n").includes("HTTP 409"), looping.errors.join("\n"));
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
    "members",
    "pause",
    "resume",
    "status",
    "switchover",
  ]);
  const output = new CapturedOutput();
  assertEquals(await statusCommand(["--help"], output), 0);
  assert(output.text.startsWith("usage: hactl status"));
  for (const command of Object.values(OPERATOR_COMMANDS)) assert(command.summary.length > 10);
});
