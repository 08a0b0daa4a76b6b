import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../errors/index.js';
import { commandProviderOf, KNOWN_PACKAGES } from '../plugins/known-packages.js';
import { isMissingPackage, loadPlugin } from '../plugins/load-plugins.js';
import { cancelCommand } from './cancel.js';
import { EXIT, reportError } from './errors.js';
import { executeStepCommand } from './execute-step.js';
import { executorChoices } from './options.js';
import { planCommand } from './plan.js';
import { reexecuteCommand } from './reexecute.js';
import { resumeCommand } from './resume.js';
import { runCommand } from './run.js';
import { runsListCommand, runsLogsCommand, runsShowCommand } from './runs.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * Adds the commands of other packages (KNOWN_PACKAGES): the package of the command the command line names is
 * loaded and adds its commands itself (`plugin.registerCommands(program)`); every other package's commands are
 * listed for help, and when the package is missing they fail with "install X" (exit 2).
 */
async function addPackageCommands(program: Command, argv: readonly string[]): Promise<void> {
  const asked = argv.slice(2).find((a) => !a.startsWith('-'));
  const provider = asked === undefined ? undefined : commandProviderOf(asked);
  let problem = '';
  if (provider) {
    try {
      const plugin = await loadPlugin(provider.package);
      if (plugin.registerCommands) {
        await plugin.registerCommands(program);
        return;
      }
      problem = `the installed ${provider.package} does not provide the '${asked}' command (its plugin has no registerCommands)`;
    } catch (error) {
      const missing = isMissingPackage((error as Error).cause, provider.package);
      problem = missing
        ? `the '${asked}' command comes from the package ${provider.package}, which is not installed (npm install ${provider.package})`
        : (error as Error).message;
    }
  }
  for (const known of KNOWN_PACKAGES) {
    for (const [name, description] of Object.entries(known.commands ?? {})) {
      program
        .command(name)
        .description(`${description} (from ${known.package})`)
        .allowUnknownOption()
        .allowExcessArguments()
        .helpOption(false)
        .action(() => {
          throw new UsageError(
            known === provider
              ? problem
              : `the '${name}' command comes from the package ${known.package}, which is not installed (npm install ${known.package})`,
          );
        });
    }
  }
}

/** Builds the `stepwise` program; `setCode` receives each command's exit code. */
export async function buildProgram(argv: readonly string[], setCode: (code: number) => void): Promise<Command> {
  const program = new Command('stepwise');
  program
    .description('Stepwise: define, plan and execute pipelines of typed steps')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`stepwise: ${text}`) });
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      setCode(await fn(...args));
    };
  const configOption = () =>
    new Option('-c, --config <file>', 'run config YAML; repeat to deep-merge several (later wins)').argParser(collect);
  const tagOption = () => new Option('--tag <key=value>', 'tag the run; repeatable').argParser(collect);

  program
    .command('run')
    .description('execute a pipeline and record the run in the instance ($STEPWISE_HOME, default ./.stepwise)')
    .option('-f, --file <file>', 'pipeline file (.ts, .mts, .js)')
    .option('--run-id <id>', 'run a stored STARTING run (what the daemon launches) from the file it recorded')
    .option('-p, --pipeline <name>', 'pipeline to run when the file has several')
    .addOption(configOption())
    .option(
      '--executor <kind>',
      `where steps run, overriding the run config: ${[...executorChoices().keys()].join(', ')}, or a kind stepwise.yaml's plugins register`,
    )
    .option('--select <expr>', "step selection, e.g. 'extract+' or '*load'")
    .addOption(tagOption())
    .option('--json', 'print events as JSON Lines on stdout')
    .action(act((opts) => runCommand(opts)));

  program
    .command('plan')
    .description('print the execution plan as text, JSON or DOT (validates the run config)')
    .requiredOption('-f, --file <file>', 'pipeline file')
    .option('-p, --pipeline <name>', 'pipeline to plan when the file has several')
    .addOption(configOption())
    .option('--select <expr>', 'step selection')
    .option('--json', 'print the plan as JSON')
    .option('--dot', 'print the plan as a Graphviz digraph')
    .action(act((opts) => planCommand(opts)));

  const runs = program.command('runs').description('list and inspect stored runs');
  runs
    .command('list')
    .description('list runs, newest first')
    .option('--json', 'print a JSON array')
    .option('--status <status>', 'only runs with this status (comma list: SUCCESS,FAILURE,...)')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .addOption(tagOption().default(undefined).argParser(collect))
    .option('--limit <n>', 'at most n runs (default 50)')
    .action(act((opts) => runsListCommand(opts)));
  runs
    .command('show')
    .description("a run's steps: status, attempts, duration, reused")
    .argument('<runId>')
    .option('--json', 'print one JSON document')
    .action(act((runId: string, opts) => runsShowCommand(runId, opts)));
  runs
    .command('logs')
    .description("a run's captured step logs")
    .argument('<runId>')
    .option('--step <key>', 'only this step')
    .action(act((runId: string, opts) => runsLogsCommand(runId, opts)));

  program
    .command('cancel')
    .description('cancel a running run (its coordinator notices within about a second)')
    .argument('<runId>')
    .option('--wait', 'wait until the run has ended')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 30)')
    .option('--force', 'mark the run CANCELED now (for a run whose coordinator is gone)')
    .action(act((runId: string, opts) => cancelCommand(runId, opts)));

  program
    .command('reexecute')
    .description('start a new run of a finished run, reusing the outputs of the steps it does not run again')
    .argument('<runId>')
    .option('--from-failure', 'run only the steps that did not succeed and those downstream')
    .option('--select <expr>', 'run only these steps')
    .option('-f, --file <file>', 'pipeline file (default: the one the run recorded)')
    .addOption(configOption())
    .addOption(tagOption())
    .option('--json', 'print events as JSON Lines on stdout')
    .action(act((runId: string, opts) => reexecuteCommand(runId, opts)));

  program
    .command('resume')
    .description('take over a run whose coordinator died: finish it without re-running the steps that succeeded')
    .argument('<runId>')
    .option('-f, --file <file>', 'pipeline file (default: the one the run recorded)')
    .addOption(configOption())
    .option('--json', 'print events as JSON Lines on stdout')
    .option('--force', "take the run over even if its coordinator looks alive (that coordinator's writes are refused)")
    .action(act((runId: string, opts) => resumeCommand(runId, opts)));

  program
    .command('execute-step')
    .description('execute one step of a stored run in this process (for external schedulers)')
    .requiredOption('-f, --file <file>', 'pipeline file')
    .requiredOption('--run-id <id>', 'the stored run')
    .requiredOption('--step <key>', 'the step key, e.g. load or transform[p1]')
    .option('-p, --pipeline <name>', "pipeline name (default: the run's)")
    .option('--json', 'print events as JSON Lines on stdout')
    .option('--create-run', 'get or create the run from --plan first (a task of a compiled pipeline; exit 99: skipped)')
    .option('--plan <file>', 'with --create-run: the compiled plan (stepwise airflow|argo compile)')
    .option('--keys-file <file>', "with --create-run: also write a fan-out step's mapping keys (JSON list) here")
    .option(
      '--mapping-key <key>',
      'with --create-run: the copy of a mapped step to run (default $STEPWISE_MAPPING_KEY)',
    )
    .option('--skip-exit-code <code>', 'with --create-run: exit code for a step the run skips (default 99)')
    .action(act((opts) => executeStepCommand(opts)));

  await addPackageCommands(program, argv);
  return program;
}

/** Runs the CLI on `argv` (as process.argv) and resolves to the exit code. Never throws. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  // `stepwise run ... | head`: the reader went away. Output is lost, but the run goes on and is recorded.
  let readerGone = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || readerGone) {
      readerGone = true;
      return;
    }
    throw error;
  });
  let code: number = EXIT.success;
  try {
    const program = await buildProgram(argv, (c) => {
      code = c;
    });
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help / version).
      return error.exitCode === 0 ? EXIT.success : EXIT.usage;
    }
    return reportError(error);
  }
}
