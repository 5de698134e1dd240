/**
 * Doctor's TLS certificate checks: the CA and the node's certificate named in `[tls]` exist,
 * parse (node:crypto's X509Certificate), are valid now and for a while, and the node's
 * certificate is signed by the CA, has the node id as subject CN (the Raft port's mutual TLS
 * identifies members by it) and names the hosts members and clients reach it by.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { AgentConfig } from "../../config/config_schema.ts";
import type { TlsFiles } from "../../config/tls_config.ts";
import { isIpv4Address, isIpv6Address } from "../../config/network_address.ts";
import { type CheckResult, failed, messageOf, passed, warned } from "./check_result.ts";

/** A certificate that expires sooner than this is reported (warn): renew it now. */
export const CERTIFICATE_RENEWAL_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const RENEW = "hactl init --nodes ... --output-dir writes new ones";

/** The rows for the CA and the node certificate; `nowMs` is the wall clock. */
export async function checkCertificates(
  config: AgentConfig,
  files: TlsFiles,
  nowMs: number,
): Promise<CheckResult[]> {
  const ca = await readCertificate("tls CA", files.caFile);
  const node = await readCertificate("tls certificate", files.certFile);
  const results: CheckResult[] = [];
  results.push(ca.certificate === null ? ca.result : validity("tls CA", ca.certificate, nowMs));
  if (node.certificate === null) return [...results, node.result];
  const problem = validity("tls certificate", node.certificate, nowMs);
  if (problem.status === "FAIL") return [...results, problem];
  if (ca.certificate !== null && !node.certificate.verify(ca.certificate.publicKey)) {
    return [
      ...results,
      failed(
        "tls certificate",
        `${files.certFile} is not signed by the CA in ${files.caFile}: members verify each ` +
          `other with that CA; issue the certificate from it (${RENEW})`,
      ),
    ];
  }
  const commonName = /^CN=(.*)$/m.exec(node.certificate.subject)?.[1] ?? null;
  if (commonName !== config.node.id) {
    return [
      ...results,
      failed(
        "tls certificate",
        `${files.certFile} has subject CN ${commonName ?? "(none)"}, not this node's id ` +
          `${config.node.id}: members identify each other on the Raft port by CN; issue one ` +
          `with /CN=${config.node.id} (${RENEW})`,
      ),
    ];
  }
  const missing = hostsOf(config).filter((host) => !names(node.certificate!, host));
  if (missing.length > 0) {
    return [
      ...results,
      failed(
        "tls certificate",
        `${files.certFile} does not name ${missing.join(", ")} (it names ` +
          `${node.certificate.subjectAltName ?? "no subjectAltName"}): clients that verify ` +
          `(sslmode=verify-full, HTTPS) refuse it; issue one naming them (${RENEW})`,
      ),
    ];
  }
  return [...results, problem];
}

/** The hosts the node is reached by: its advertised Raft/API host and Postgres host. */
export function hostsOf(config: AgentConfig): string[] {
  return [...new Set([config.raft.advertise.hostname, config.postgres.advertiseHost])];
}

function names(certificate: X509Certificate, host: string): boolean {
  return isIpv4Address(host) || isIpv6Address(host)
    ? certificate.checkIP(host) !== undefined
    : certificate.checkHost(host) !== undefined;
}

async function readCertificate(
  check: string,
  path: string,
): Promise<
  | { readonly certificate: X509Certificate; readonly result: null }
  | { readonly certificate: null; readonly result: CheckResult }
> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    return {
      certificate: null,
      result: failed(check, `${path} cannot be read: ${messageOf(error)}`),
    };
  }
  try {
    return { certificate: new X509Certificate(text), result: null };
  } catch (error) {
    return {
      certificate: null,
      result: failed(check, `${path} is not a PEM certificate: ${messageOf(error)}`),
    };
  }
}

function validity(check: string, certificate: X509Certificate, nowMs: number): CheckResult {
  const from = new Date(certificate.validFrom).getTime();
  const to = new Date(certificate.validTo).getTime();
  const subject = certificate.subject.replaceAll("\n", ", ");
  if (nowMs < from) {
    return failed(
      check,
      `${subject}: valid only from ${certificate.validFrom}: is this host's clock right?`,
    );
  }
  if (nowMs >= to) {
    return failed(check, `${subject}: expired ${certificate.validTo}; renew it (${RENEW})`);
  }
  const daysLeft = Math.floor((to - nowMs) / DAY_MS);
  if (daysLeft < CERTIFICATE_RENEWAL_DAYS) {
    return warned(check, `${subject}: expires in ${daysLeft} days (${certificate.validTo})`);
  }
  return passed(check, `${subject}: valid until ${certificate.validTo}`);
}
