/**
 * The systemd unit that runs a node's agent, as `hactl show systemd` prints it.
 *
 * @module
 */

/** What the unit is written for. */
export interface SystemdUnitOptions {
  /** Absolute path of the hactl executable. */
  readonly executable: string;
  /** Absolute path of the node's config. */
  readonly configPath: string;
  /** OS user the agent runs as (it owns hactl's and Postgres' data directories). */
  readonly user: string;
}

/**
 * The unit text. Why each choice:
 * - Type=simple: hactl does not implement sd_notify, so "started" means "process running";
 * - KillMode=process: on stop systemd signals hactl only; hactl itself stops Postgres in
 *   order and disarms its watchdog, which a signal to the whole group would race with;
 * - Restart=on-failure: a crashed agent comes back and rejoins; a clean stop stays stopped;
 * - ExecReload sends SIGHUP: hactl re-reads and checks the file (see hactl run --help);
 * - TimeoutStopSec leaves Postgres time for a fast shutdown with a checkpoint.
 */
export function renderSystemdUnit(options: SystemdUnitOptions): string {
  return `[Unit]
Description=hactl agent: high availability for PostgreSQL
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${options.user}
Group=${options.user}
ExecStart=${options.executable} run --config ${options.configPath}
ExecReload=/bin/kill -HUP $MAINPID
KillMode=process
Restart=on-failure
RestartSec=5s
TimeoutStopSec=120s
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}
