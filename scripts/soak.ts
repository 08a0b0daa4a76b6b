/**
 * `npm run soak -- --steps N --seconds S [options]`: the chaos soak of issue 6. Runs the generated soak pipeline
 * on 4 `stepwise worker` processes with its own Redis and SQLite instance, kills/freezes/restarts things, then
 * checks every run from storage alone. Prints `name: N passed, N failed` per invariant and a summary; exits 1 if
 * an invariant failed. See scripts/soak/run-soak.ts for what each option does.
 */
import { parseArgs } from 'node:util';
import { runSoak, type SoakOptions } from './soak/run-soak.js';

const USAGE = `usage: npm run soak -- --steps N --seconds S [--seed N] [--workers N] [--concurrency N]
       [--lock-duration MS] [--kill-every MS] [--freezes 0|1|2] [--no-redis-restart] [--no-data-loss]
       [--coordinator-kill auto|on|off] [--coordinator-down MS] [--run-timeout S] [--keep always|on-failure|never] [--io redis|fs]`;

function int(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required\n${USAGE}`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

function parse(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      'lock-duration': { type: 'string' },
      'kill-every': { type: 'string' },
      freezes: { type: 'string' },
      'no-redis-restart': { type: 'boolean', default: false },
      'no-data-loss': { type: 'boolean', default: false },
      'coordinator-kill': { type: 'string', default: 'auto' },
      'run-timeout': { type: 'string' },
      'coordinator-down': { type: 'string' },
      keep: { type: 'string', default: 'on-failure' },
      io: { type: 'string', default: 'redis' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const kill = values['coordinator-kill'];
  if (kill !== 'auto' && kill !== 'on' && kill !== 'off') throw new Error(`--coordinator-kill: auto, on or off`);
  const keep = values.keep;
  if (keep !== 'always' && keep !== 'on-failure' && keep !== 'never')
    throw new Error(`--keep: always, on-failure or never`);
  const io = values.io;
  if (io !== 'fs' && io !== 'redis') throw new Error('--io: redis or fs');
  const freezes = int('freezes', values.freezes, 1);
  if (freezes > 2) throw new Error('--freezes: 0, 1 or 2');
  const runTimeout = values['run-timeout'];
  return {
    steps: Math.max(1, int('steps', values.steps)),
    seconds: int('seconds', values.seconds),
    seed: int('seed', values.seed, 1),
    workers: Math.max(1, int('workers', values.workers, 4)),
    concurrency: Math.max(1, int('concurrency', values.concurrency, 4)),
    lockDurationMs: int('lock-duration', values['lock-duration'], 2_000),
    killEveryMs: int('kill-every', values['kill-every'], 4_000),
    freezes,
    redisRestart: !values['no-redis-restart'],
    dataLoss: !values['no-data-loss'],
    coordinatorKill: kill === 'auto' ? 'auto' : kill === 'on',
    coordinatorDownMs: int('coordinator-down', values['coordinator-down'], 2_000),
    runTimeoutMs: runTimeout === undefined ? undefined : int('run-timeout', runTimeout) * 1_000,
    keep,
    io,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`soak: ${(error as Error).message}\n`);
    return 2;
  }
  const report = await runSoak(options);
  process.stdout.write(`\n${report.lines.join('\n')}\n`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
