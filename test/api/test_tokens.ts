/**
 * The one way tests authenticate to the REST API: the tokens the agent derives from the
 * cluster secret (src/config/derived_credentials.ts), never the secret itself.
 *
 * @module
 */
import { type ApiTokens, deriveApiTokens } from "../../src/config/derived_credentials.ts";
import { TEST_SECRET } from "./fake_agent.ts";

/** The API tokens of {@link TEST_SECRET}. */
export const TEST_TOKENS: ApiTokens = await deriveApiTokens(TEST_SECRET);

/** The `Authorization` header value for changes on a cluster whose secret is `secret`. */
export async function adminAuthorization(secret: string): Promise<string> {
  return `Bearer ${(await deriveApiTokens(secret)).admin}`;
}
