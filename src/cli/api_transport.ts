/**
 * How the CLI reaches agents' REST APIs: plain HTTP, or HTTPS trusting the cluster CA
 * (tls.ca_file of the node config given with --config). Set once per command, before any
 * request, by {@link useApiTls}.
 *
 * @module
 */

let scheme: "http" | "https" = "http";
let client: Deno.HttpClient | undefined;

/**
 * Makes every later API request of this process use HTTPS, trusting only the CA in `caFile`
 * (PEM); null: plain HTTP. Throws naming the file when it cannot be read.
 */
export async function useApiTls(caFile: string | null): Promise<void> {
  client?.close();
  client = undefined;
  scheme = "http";
  if (caFile === null) return;
  let ca: string;
  try {
    ca = await Deno.readTextFile(caFile);
  } catch (error) {
    throw new Error(`cannot read the cluster CA ${caFile} (tls.ca_file): ${String(error)}`);
  }
  client = Deno.createHttpClient({ caCerts: [ca] });
  scheme = "https";
}

/** The URL of `path` (starting with "/") on the API at `api` ("host:port"). */
export function apiUrl(api: string, path: string): string {
  return `${scheme}://${api}${path}`;
}

/** The fetch options that carry the CA (empty for plain HTTP). */
export function apiFetchOptions(): { client?: Deno.HttpClient } {
  return client === undefined ? {} : { client };
}

/** One line for `hactl status`: whether the API was reached over TLS or in plain text. */
export function apiTransportNote(): string {
  return scheme === "https"
    ? "transport: TLS (API over HTTPS, verified with the cluster CA)"
    : "transport: plain text (tls.enabled = false, or no --config naming tls.ca_file)";
}
