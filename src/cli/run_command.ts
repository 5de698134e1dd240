/**
 * `hactl run`: the agent of one node.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, loadAgentConfig } from "../config/config_file.ts";
import { readClusterSecret } from "../config/cluster_secret.ts";
import { deriveApiTokens } from "../config/derived_credentials.ts";
import { Agent } from "../agent/agent.ts";
import { Logger, type LogLevel } from "../agent/logger.ts";
import { type ApiTlsPem, startApiServer } from "../api/server.ts";
import { apiSchemeOf, tlsFilesOf } from "../config/tls_config.ts";
import type { AgentConfig } from "../config/config_schema.ts";
import { PrimaryGateway } from "../gateway/primary_gateway.ts";
import { UsageError } from "./usage_error.ts";
import { reloadConfig, reloadOnHangup } from "./config_reload.ts";

/** Usage text of `hactl run`. */
export const RUN_USAGE =
  `usage: hactl run --config FILE [--bootstrap] [--log-level debug|info|warn|error]

Runs this node's agent: the embedded Raft member, the Postgres supervisor and the REST API.
  --config FILE   the node's config (hactl init writes one)
  --bootstrap     create a new cluster with this node as its first member, if this node
                  belongs to none (run it on exactly one node, once)
Settings may be overridden by HACTL_<SECTION>_<KEY> environment variables.
SIGHUP reads the file again: mistakes are logged and the running settings kept; changed
settings are logged by name and take effect when the agent restarts.`;

/** Runs the agent until SIGINT or SIGTERM; returns the exit code. */
export async function runCommand(args: string[]): Promise<number> {
  const { values } = parseOrThrow(args);
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  if (!values.config) throw new UsageError("hactl run needs --config FILE", RUN_USAGE);
  const flagLevel = values["log-level"] as LogLevel | undefined;
  if (flagLevel !== undefined && !["debug", "info", "warn", "error"].includes(flagLevel)) {
    throw new UsageError(
      `--log-level ${flagLevel}: expected debug, info, warn or error`,
      RUN_USAGE,
    );
  }
  let config;
  try {
    config = await loadAgentConfig(values.config, { environment: Deno.env.toObject() });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const secret = await readClusterSecret(config.cluster.secretFile);
  const log = new Logger(config.node.id, flagLevel ?? config.log.level, config.log.format);
  const agent = await Agent.start({ config, secret, bootstrap: values.bootstrap ?? false, log });
  const api = startApiServer(agent, {
    ...config.api.listen,
    tokens: await deriveApiTokens(secret),
    requireReadToken: config.api.requireReadToken,
    primaryHoldMs: config.api.primaryHoldMs,
    log,
    reloadNodeFile: () => reloadConfig(values.config!, config, log),
    stopLocalPostgres: () => stopForRestart(agent, log),
    reinitializeLocal: () =>
      agent.reconciler === null
        ? "this agent supervises no Postgres now"
        : agent.reconciler.requestReinitialize(),
    tls: await apiTlsPem(config),
  });
  const gateway = config.gateway.listen === null
    ? null
    : PrimaryGateway.start(agent, config.gateway.listen, log, {
      maxConnections: config.gateway.maxConnections,
    });
  log.info(
    "agent",
    `API on ${
      apiSchemeOf(config)
    }://${config.api.listen.hostname}:${api.port}, Raft on ${config.raft.listen.hostname}:${config.raft.listen.port}` +
      (gateway === null
        ? ""
        : `, gateway to the primary on ${config.gateway.listen!.hostname}:${gateway.port}`),
  );
  const stopReloading = reloadOnHangup(values.config, config, log);
  await waitForSignal();
  stopReloading();
  log.info("agent", "stopping: Postgres will be stopped too");
  gateway?.close();
  await api.close();
  await agent.stop(true);
  return 0;
}

function parseOrThrow(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        config: { type: "string" },
        bootstrap: { type: "boolean" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), RUN_USAGE);
  }
}

/** Stops the postmaster fast for POST /restart; the supervisor starts it again. */
async function stopForRestart(agent: Agent, log: Logger): Promise<string | null> {
  const postmaster = agent.reconciler?.postmaster ?? null;
  if (postmaster === null) return "this agent runs no postmaster now";
  log.info("postgres", "restart requested through the API: stopping Postgres (fast)");
  await postmaster.stop({ fastTimeoutMs: 30_000 });
  return null;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}

/** The API's certificate and key (PEM) when TLS is on, else null (plain HTTP). */
async function apiTlsPem(config: AgentConfig): Promise<ApiTlsPem | null> {
  const files = tlsFilesOf(config);
  if (files === null) return null;
  return {
    cert: await Deno.readTextFile(files.certFile),
    key: await Deno.readTextFile(files.keyFile),
  };
}
