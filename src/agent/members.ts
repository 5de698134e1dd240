/**
 * Member addresses and the local Postgres settings, derived from the node's config.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import type { AgentConfig } from "../config/config_schema.ts";
import type { PostgresSettings } from "../postgres/settings.ts";
import { runningAsRoot } from "../postgres/process_runner.ts";
import type { MemberAddress } from "./agent_handle.ts";
import { singleHostEntry } from "../config/network_address.ts";
import { tlsFilesOf } from "../config/tls_config.ts";

/** This node and every configured peer, with their Raft, Postgres and API addresses. */
export function memberAddresses(config: AgentConfig): MemberAddress[] {
  const self: MemberAddress = {
    id: config.node.id,
    raft: config.raft.advertise,
    postgres: { hostname: config.postgres.advertiseHost, port: config.postgres.port },
    api: { hostname: config.raft.advertise.hostname, port: config.api.listen.port },
  };
  const peers = config.cluster.peers.map((peer): MemberAddress => ({
    id: peer.id,
    raft: { hostname: peer.hostname, port: peer.port },
    postgres: { hostname: peer.hostname, port: peer.postgresPort ?? config.postgres.port },
    api: { hostname: peer.hostname, port: peer.apiPort ?? config.api.listen.port },
  }));
  return [self, ...peers].sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * pg_hba.conf address entries matching exactly the members' hosts (Raft and Postgres
 * addresses) and this machine's loopback.
 */
export function memberNetworks(config: AgentConfig): string[] {
  const hosts = memberAddresses(config).flatMap((member) => [
    member.raft.hostname,
    member.postgres.hostname,
  ]);
  return unique(["127.0.0.1/32", "::1/128", ...hosts.map(singleHostEntry)]);
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/**
 * The replication role's password, derived from the cluster secret so that every member
 * knows it without storing a second secret (HMAC-SHA256, hex).
 */
export function replicationPassword(secret: string): string {
  return createHmac("sha256", secret).update("hactl replication password v1").digest("hex");
}

/** The supervisor's settings for the local Postgres. */
export function buildPostgresSettings(
  config: AgentConfig,
  secret: string,
  binDirectory: string,
): PostgresSettings {
  const dataDirectory = config.postgres.dataDir;
  return {
    binDirectory,
    dataDirectory,
    port: config.postgres.port,
    listenAddress: config.postgres.listenAddress,
    // A socket directory of its own: two nodes on one host (or in namespaces sharing a
    // filesystem) must not collide on /var/run/postgresql.
    socketDirectory: `${dataDirectory}.hactl`,
    runAsUser: runningAsRoot() ? config.postgres.runAsUser : null,
    applicationName: config.node.id,
    replicationUser: config.postgres.replicationUser,
    replicationPassword: replicationPassword(secret),
    superuser: config.postgres.superuser,
    // Every network address must authenticate with scram-sha-256; none is trusted.
    // Replication only from the members; clients from client_networks and the members (the
    // gateway of another member proxies its clients from that member's address).
    allowedNetworks: memberNetworks(config),
    clientNetworks: unique([...config.postgres.clientNetworks, ...memberNetworks(config)]),
    walKeepSizeMb: 256,
    tls: tlsFilesOf(config),
  };
}
