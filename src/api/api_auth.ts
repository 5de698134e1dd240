/**
 * Who may do what on the REST API, decided in one place before any route runs:
 * - a change (any method but GET, HEAD and OPTIONS) needs the admin token; the read-only
 *   token is refused with 403, anything else (the cluster secret itself too) with 401;
 * - a read of status, metrics and documents needs the read-only or the admin token when
 *   `api.require_read_token` is on, and nothing when it is off;
 * - the health checks and probes (HAProxy, Kubernetes) never need a token.
 * Routes that change something also check the admin token themselves ({@link authorize}).
 *
 * @module
 */
import type { Context, Hono, Next } from "hono";
import { HTTPException } from "hono/http-exception";
import { timingSafeEqual } from "node:crypto";
import type { ApiTokens } from "../config/derived_credentials.ts";
import { HEALTH_ENDPOINTS } from "./health_checks.ts";
import { PROBE_ENDPOINTS } from "./probes.ts";

/** Methods that only read; every other method changes something. */
const READ_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);
/** Paths answered without a token whatever the settings: the health checks and probes. */
const OPEN_PATHS: ReadonlySet<string> = new Set([
  ...Object.keys(HEALTH_ENDPOINTS),
  ...Object.keys(PROBE_ENDPOINTS),
]);

/** How the API authorizes requests. */
export interface ApiAuthorization {
  readonly tokens: ApiTokens;
  /** api.require_read_token: reads other than health checks need a token. */
  readonly requireReadToken: boolean;
}

/** Registers the authorization middleware on `app`; call before registering any route. */
export function registerAuthorization(app: Hono, authorization: ApiAuthorization): void {
  const admin = bearer(authorization.tokens.admin);
  const read = bearer(authorization.tokens.read);
  app.use("*", async (context: Context, next: Next) => {
    const given = new TextEncoder().encode(context.req.header("authorization") ?? "");
    if (!READ_METHODS.has(context.req.method)) {
      if (sameBytes(given, read)) {
        throw new HTTPException(403, {
          message: "the read-only API token cannot change the cluster: send the admin token " +
            "(hactl token prints it)",
        });
      }
      authorize(context.req.header("authorization"), admin);
    } else if (
      authorization.requireReadToken && !OPEN_PATHS.has(context.req.path) &&
      !sameBytes(given, read) && !sameBytes(given, admin)
    ) {
      throw new HTTPException(401, {
        message: `${context.req.path} needs a token (api.require_read_token is on): send ` +
          "Authorization: Bearer <read-only token> (hactl token --read-only prints it)",
      });
    }
    await next();
  });
}

/** The `Authorization` header value for `token`, as bytes. */
export function bearer(token: string): Uint8Array {
  return new TextEncoder().encode(`Bearer ${token}`);
}

/** Compares the Authorization header with the expected one in constant time; throws 401. */
export function authorize(header: string | undefined, expected: Uint8Array): void {
  if (!sameBytes(new TextEncoder().encode(header ?? ""), expected)) {
    throw new HTTPException(401, {
      message: "this endpoint changes the cluster: send Authorization: Bearer <admin token> " +
        "(hactl token prints it; the CLI derives it from cluster.secret_file). The cluster " +
        "secret itself is not accepted: it never leaves the node",
    });
  }
}

function sameBytes(given: Uint8Array, expected: Uint8Array): boolean {
  // Lengths are compared first (timingSafeEqual needs equal lengths); the length of a token
  // is public (a fixed prefix and 64 hex digits), its value is what protects it.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
