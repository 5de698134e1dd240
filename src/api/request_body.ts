/**
 * Reading and checking operator request bodies: a size cap enforced while reading (not after
 * buffering whatever a client sends), JSON objects only, and field checks whose 400 answers
 * name the field and the expected shape.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import type { Command } from "../core/mod.ts";
import {
  keyValueKeyProblem,
  keyValueValueProblem,
  MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH,
} from "../core/cluster_state.ts";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
// The key-value bounds are the core's (shared with the wire codec), re-exported for clients.
export { MAX_KEY_LENGTH, MAX_VALUE_LENGTH };

/** Node ids as the configuration accepts them. */
const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

function tooLarge(): HTTPException {
  return new HTTPException(413, {
    message:
      `the body is larger than ${MAX_BODY_BYTES} bytes; operator requests are small JSON objects`,
  });
}

/** Reads at most {@link MAX_BODY_BYTES} bytes of the body; throws 413 beyond that. */
async function readBoundedText(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let totalBytes = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    totalBytes += value.byteLength;
    if (totalBytes > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HTTPException(400, { message: "the body is not valid UTF-8" });
  }
}

/** Reads the body as a JSON object; an empty body is `{}`. Throws 400 or 413 otherwise. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const text = await readBoundedText(request);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HTTPException(400, {
      message: `the body is not JSON (${
        error instanceof Error ? error.message : String(error)
      }); send an object such as {"target": "node2"}`,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HTTPException(400, {
      message: `the body must be a JSON object, got ${
        Array.isArray(value) ? "an array" : typeof value
      }`,
    });
  }
  return value as Record<string, unknown>;
}

/** The node id in `body[field]`, or null when absent; throws 400 when it is not a node id. */
export function optionalNodeId(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !NODE_ID_PATTERN.test(value)) {
    throw new HTTPException(400, {
      message: `${field}: expected a node id (1-63 letters, digits, _ or -), got ${
        JSON.stringify(value)
      }`,
    });
  }
  return value;
}

/** The node id in `body[field]`; throws 400 when it is absent or not a node id. */
export function requiredNodeId(body: Record<string, unknown>, field: string): string {
  const value = optionalNodeId(body, field);
  if (value === null) {
    throw new HTTPException(400, {
      message: `${field}: required, send e.g. {"${field}": "node4"}`,
    });
  }
  return value;
}

/**
 * The `kv` command of a `{key, value}` body (`value: null` deletes); throws 400 otherwise.
 * Keys and values are checked by the core's own validator, the one the wire codec uses, so
 * that an accepted key can always be replicated.
 */
export function keyValueCommand(body: Record<string, unknown>): Command {
  const { key, value } = body;
  if (typeof key !== "string") {
    throw new HTTPException(400, {
      message: `key: expected a string of 1-${MAX_KEY_LENGTH} printable ASCII characters ` +
        `without spaces, got ${describeJson(key)}`,
    });
  }
  const keyProblem = keyValueKeyProblem(key);
  if (keyProblem !== null) {
    throw new HTTPException(400, { message: `key: ${keyProblem}; e.g. {"key": "app/mode"}` });
  }
  if (value !== null && typeof value !== "string") {
    throw new HTTPException(400, {
      message: `value: expected a string of at most ${MAX_VALUE_LENGTH} characters, or null to ` +
        `delete the key, got ${describeJson(value)}`,
    });
  }
  const valueProblem = keyValueValueProblem(value);
  if (valueProblem !== null) {
    throw new HTTPException(400, { message: `value: ${valueProblem}` });
  }
  return { kind: "kv", key, value };
}

/** A short rendering of a JSON value for an error message ("nothing" when absent). */
function describeJson(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
