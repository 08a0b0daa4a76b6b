/** The environment variables Stepwise reads, for the configuration reference. A test checks the sources name no other. */
export const ENVIRONMENT: readonly { name: string; default: string; description: string }[] = [
  {
    name: 'STEPWISE_HOME',
    default: '`./.stepwise`',
    description:
      'The instance directory: holds `stepwise.yaml`, and the default SQLite, IO and compute log directories.',
  },
  {
    name: 'REDIS_URL',
    default: '`redis://127.0.0.1:6379`',
    description:
      'Redis of the queue executor, workers, `worker --runs` and the queue run launcher when their config or flags name none.',
  },
  {
    name: 'STEPWISE_LOG_LEVEL',
    default: '`warn` (library), `info` (worker, daemon)',
    description: 'pino log level of the engine, `stepwise worker` and `stepwise daemon`.',
  },
  {
    name: 'STEPWISE_DEBUG',
    default: 'unset',
    description: 'Set (not `0`/`false`) to print stack traces of CLI errors.',
  },
  {
    name: 'STEPWISE_LOAD_TIMEOUT_MS',
    default: '`60000`',
    description:
      'How long loading a pipeline file may take (a top-level await that never settles fails with `LOAD_FAILED`).',
  },
  {
    name: 'STEPWISE_REDACT_KEYS',
    default: 'unset',
    description:
      'Comma-separated extra config keys whose values are secrets (shown as `***`), besides the default pattern and `{ env: NAME }` values.',
  },
  {
    name: 'STEPWISE_HEARTBEAT_MS',
    default: '`5000`',
    description: "How often a run's coordinator beats (heartbeat and lease renewal).",
  },
  {
    name: 'STEPWISE_HEARTBEAT_TIMEOUT_MS',
    default: '`30000`',
    description: "When a coordinator's lease expires: `resume` may take the run over without `--force`.",
  },
  {
    name: 'STEPWISE_UI_TOKEN',
    default: 'unset',
    description:
      'The token of `stepwise ui` (same as `--token`); required when it binds another address than 127.0.0.1.',
  },
  {
    name: 'STEPWISE_RUN_ID',
    default: 'unset',
    description: 'Set by compiled Airflow/Argo tasks: the shared run id `execute-step` works on.',
  },
  {
    name: 'STEPWISE_MAPPING_KEY',
    default: 'unset',
    description: 'Set by compiled tasks: the copy of a mapped step `execute-step --create-run` runs.',
  },
  {
    name: 'STEPWISE_PLAN',
    default: 'unset',
    description: 'Set by compiled Kubernetes tasks: the compiled plan, passed to each pod.',
  },
  {
    name: 'STEPWISE_CLOCK_FILE',
    default: 'unset',
    description: "Tests only: the scheduler's `now` read from a file (epoch ms or ISO instant).",
  },
  {
    name: 'STEPWISE_SCHEDULER_FAULT',
    default: 'unset',
    description: 'Tests only: the scheduler SIGKILLs itself at the named point of a tick (crash tests).',
  },
  {
    name: 'PGHOST, PGPORT',
    default: '`localhost`, `5432`',
    description: 'Read by `pg` when `storage.postgres.url` leaves the host or port out.',
  },
];
