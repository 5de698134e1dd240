/**
 * Doctor's cluster secret check: cluster.secret_file exists, only its owner may read it
 * (0600 or 0400), it is not empty, and the agent's OS user owns it.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { readClusterSecret } from "../../config/cluster_secret.ts";
import { lookupUser } from "../../postgres/files.ts";
import { type CheckResult, failed, messageOf, passed, warned } from "./check_result.ts";
import { formatMode, openToOthers } from "./file_mode.ts";

const CHECK = "cluster secret";

/** Checks cluster.secret_file. */
export async function checkSecretFile(config: AgentConfig): Promise<CheckResult> {
  const path = config.cluster.secretFile;
  const user = config.postgres.runAsUser;
  const install = `install -o ${user} -g ${user} -m 0600 cluster.secret ${path}`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    return failed(
      CHECK,
      `${path} cannot be read (${messageOf(error)}): copy the secret hactl init wrote ` +
        `(the same on every node): ${install}`,
    );
  }
  if (!info.isFile) return failed(CHECK, `${path} is not a regular file`);
  const mode = info.mode ?? 0;
  if (openToOthers(mode)) {
    return failed(
      CHECK,
      `${path} has mode ${formatMode(mode)}: other users may read the cluster secret; ` +
        `run chmod 600 ${path}`,
    );
  }
  if (info.size === 0) {
    return failed(CHECK, `${path} is empty: copy the secret hactl init wrote: ${install}`);
  }
  try {
    await readClusterSecret(path);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      return warned(CHECK, `${path}: mode ${formatMode(mode)}, not readable by this user`);
    }
    return failed(CHECK, messageOf(error));
  }
  const owner = await lookupUser(user).catch(() => null);
  if (owner !== null && owner.uid !== info.uid && owner.uid !== 0) {
    return warned(
      CHECK,
      `${path} is owned by uid ${info.uid}, not ${user}: an agent run as ${user} cannot ` +
        `read it; run chown ${user}: ${path}`,
    );
  }
  const ownerName = owner?.uid === info.uid ? user : `uid ${info.uid}`;
  return passed(CHECK, `${path}: mode ${formatMode(mode)}, owner ${ownerName}, ${info.size} bytes`);
}
