/**
 * A small client for the agent's REST API: read `/status`, and send operator requests with
 * the admin token derived from the cluster secret, following a "not the leader" answer (409 with the leader's API) once.
 *
 * @module
 */
import { apiFetchOptions, apiUrl } from "./api_transport.ts";
import type { AgentStatus } from "../agent/agent_handle.ts";

/** How long a status read may take; an agent that slow is shown as unreachable. */
export const STATUS_TIMEOUT_MS = 3_000;
/** How long an operator request may take: more than the API's own 10 s wait for the core. */
export const OPERATOR_TIMEOUT_MS = 15_000;

/** What became of an operator request. */
export type OperatorOutcome =
  /** The leader accepted it (`answeredBy` is the API that said so). */
  | { readonly kind: "done"; readonly answeredBy: string; readonly body: unknown }
  /** The API refused it (4xx/5xx other than a followed 409). */
  | {
    readonly kind: "refused";
    readonly answeredBy: string;
    readonly httpStatus: number;
    readonly error: string;
    readonly leaderApi: string | null;
  }
  /** No connection: nothing was sent, so another member may be asked safely. */
  | { readonly kind: "unreachable"; readonly api: string; readonly error: string }
  /** Sent, but no answer in time: the outcome is unknown. */
  | { readonly kind: "timed-out"; readonly api: string; readonly error: string };

/**
 * Reads `/status` of the agent at `api` (`host:port`), with `readToken` when given (needed when
 * api.require_read_token is on); throws a message naming the API.
 */
export async function fetchStatus(
  api: string,
  timeoutMs: number = STATUS_TIMEOUT_MS,
  readToken: string | null = null,
): Promise<AgentStatus> {
  let response: Response;
  try {
    response = await fetch(apiUrl(api, "/status"), {
      ...apiFetchOptions(),
      headers: readToken === null ? {} : { authorization: `Bearer ${readToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(
      `cannot read ${apiUrl(api, "/status")}: ${describeFetchError(error, timeoutMs)}`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${apiUrl(api, "/status")} answered ${response.status}, expected 200`);
  }
  return await response.json() as AgentStatus;
}

/**
 * Posts `body` to `path` at `api`; on a 409 naming another leader, asks that leader once —
 * only if its address is one of `trustedApis` (the configured members' or the ones given on
 * the command line): the token is never sent to an address an answer named.
 */
export async function postOperatorRequest(options: {
  readonly api: string;
  readonly path: string;
  readonly body: unknown;
  readonly token: string;
  readonly trustedApis: readonly string[];
  readonly timeoutMs?: number;
  /** POST unless said otherwise (PATCH /config, DELETE /switchover). */
  readonly method?: "POST" | "PATCH" | "DELETE";
}): Promise<OperatorOutcome> {
  const first = await postOnce(options.api, options);
  if (
    first.kind !== "refused" || first.httpStatus !== 409 || first.leaderApi === null ||
    first.leaderApi === options.api
  ) return first;
  if (!options.trustedApis.includes(first.leaderApi)) {
    return {
      ...first,
      error: `${first.error}; the leader's API ${first.leaderApi} is not a configured member's ` +
        `address, so the token was not sent there: pass --api ${first.leaderApi} if it is yours`,
    };
  }
  return await postOnce(first.leaderApi, options);
}

async function postOnce(
  api: string,
  options: {
    path: string;
    body: unknown;
    token: string;
    timeoutMs?: number;
    method?: "POST" | "PATCH" | "DELETE";
  },
): Promise<OperatorOutcome> {
  const timeoutMs = options.timeoutMs ?? OPERATOR_TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(apiUrl(api, options.path), {
      ...apiFetchOptions(),
      method: options.method ?? "POST",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
      body: JSON.stringify(options.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const kind = isTimeout(error) ? "timed-out" : "unreachable";
    return { kind, api, error: describeFetchError(error, timeoutMs) };
  }
  const text = await response.text();
  let answer: { error?: unknown; leaderApi?: unknown } = {};
  try {
    answer = JSON.parse(text);
  } catch {
    answer = { error: text.slice(0, 200) };
  }
  if (response.ok) return { kind: "done", answeredBy: api, body: answer };
  return {
    kind: "refused",
    answeredBy: api,
    httpStatus: response.status,
    error: typeof answer.error === "string" ? answer.error : "no reason given",
    leaderApi: typeof answer.leaderApi === "string" ? answer.leaderApi : null,
  };
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (isTimeout(error)) return `no answer within ${timeoutMs} ms`;
  return error instanceof Error ? error.message : String(error);
}
