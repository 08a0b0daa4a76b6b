import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { canonicalJson, docsUrl, UsageError } from '@stepwise/core';
import { type Command, Option } from 'commander';
import { renderAirflowDag } from './airflow-dag.js';
import { renderArgoWorkflow } from './argo-workflow.js';
import { compilePipeline } from './compile-pipeline.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Airflow's DAG id rule (airflow/utils/helpers.py validate_key). */
const DAG_ID = /^[A-Za-z0-9_.-]{1,250}$/;

function warn(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`stepwise: warning: ${w}\n`);
}

/** Writes a file, naming it in the error when that fails (exit 2: the setup is wrong). */
function write(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${(error as Error).message}`);
  }
}

interface AirflowCompileOptions {
  file: string;
  pipeline?: string;
  config?: string[];
  out: string;
  dagId?: string;
  schedule?: string;
  operator?: 'bash' | 'kubernetes';
  image?: string;
  namespace?: string;
  stepwiseCmd: string;
}

interface ArgoCompileOptions {
  file: string;
  pipeline?: string;
  config?: string[];
  out?: string;
  image?: string;
  stepwiseCmd: string;
}

async function airflowCompile(opts: AirflowCompileOptions): Promise<void> {
  const operator = opts.operator ?? (opts.image ? 'kubernetes' : 'bash');
  if (operator === 'bash' && opts.image !== undefined) {
    throw new UsageError('--image goes with --operator kubernetes (BashOperator tasks run on the Airflow workers)');
  }
  if (operator === 'kubernetes' && opts.image === undefined) {
    throw new UsageError(
      '--operator kubernetes needs --image IMAGE: an image with stepwise, the pipeline and its stepwise.yaml',
    );
  }
  if (opts.dagId !== undefined && !DAG_ID.test(opts.dagId)) {
    throw new UsageError(
      `--dag-id '${opts.dagId}' is not a valid Airflow DAG id: use letters, digits, '_', '.', '-' (at most 250)`,
    );
  }
  const runsIn = operator === 'kubernetes' ? 'pods' : 'processes';
  const { compiled, warnings } = await compilePipeline({
    file: opts.file,
    pipeline: opts.pipeline,
    configFiles: opts.config,
    runsIn,
  });
  const dagId = opts.dagId ?? compiled.pipeline;
  const planFileName = `${dagId}.plan.json`;
  const dag = renderAirflowDag(compiled, {
    dagId,
    // BashOperator tasks run on this machine's paths; a pod resolves a relative path in its working directory.
    pipelineFile: operator === 'bash' || isAbsolute(opts.file) ? resolve(opts.file) : opts.file,
    planFileName,
    schedule: opts.schedule,
    stepwiseCommand: opts.stepwiseCmd,
    operator,
    image: opts.image,
    namespace: opts.namespace,
  });
  try {
    mkdirSync(opts.out, { recursive: true });
  } catch (error) {
    throw new UsageError(`cannot create the output directory ${opts.out}: ${(error as Error).message}`);
  }
  const dagPath = join(opts.out, `${dagId}.py`);
  const planPath = join(opts.out, planFileName);
  write(planPath, `${canonicalJson(compiled, 2)}\n`);
  write(dagPath, dag);
  warn(warnings);
  process.stdout.write(`wrote ${dagPath}\nwrote ${planPath}\n`);
}

async function argoCompile(opts: ArgoCompileOptions): Promise<void> {
  const { compiled, warnings } = await compilePipeline({
    file: opts.file,
    pipeline: opts.pipeline,
    configFiles: opts.config,
    runsIn: 'pods',
  });
  if (opts.image === undefined) warnings.push("no --image: the Workflow's pods use the image 'stepwise:latest'");
  const yaml = renderArgoWorkflow(compiled, {
    pipelineFile: opts.file,
    image: opts.image ?? 'stepwise:latest',
    stepwiseCommand: opts.stepwiseCmd,
  });
  warn(warnings);
  if (opts.out === undefined) {
    process.stdout.write(yaml);
    return;
  }
  write(opts.out, yaml);
  process.stdout.write(`wrote ${opts.out}\n`);
}

/** Adds `stepwise airflow compile` and `stepwise argo compile` (docs/deploy/airflow.md, argo.md) to the CLI. */
export function registerCommands(program: Command): void {
  const common = (command: Command) =>
    command
      .requiredOption('-f, --file <file>', 'pipeline file (.ts, .js)')
      .option('-p, --pipeline <name>', 'pipeline to compile when the file has several')
      .addOption(new Option('-c, --config <file>', 'run config YAML; repeat to deep-merge several').argParser(collect));
  const airflow = program
    .command('airflow')
    .description(`Airflow: compile a pipeline into a DAG file (see ${docsUrl('deploy/airflow.md')})`);
  common(airflow.command('compile').description('write DIR/<dag_id>.py and the compiled plan beside it'))
    .option('-o, --out <dir>', 'directory to write to (e.g. the dags folder)', '.')
    .option('--dag-id <id>', 'the DAG id (default: the pipeline name)')
    .option('--schedule <cron>', "the DAG's schedule (cron or preset; default none: triggered runs only)")
    .addOption(
      new Option('--operator <kind>', 'task operator (default bash; kubernetes with --image)').choices([
        'bash',
        'kubernetes',
      ]),
    )
    .option('--image <image>', 'KubernetesPodOperator image with stepwise and the pipeline')
    .option('--namespace <ns>', 'namespace of the pods (default: default)')
    .option('--stepwise-cmd <cmd>', 'the command that runs stepwise where tasks run', 'stepwise')
    .action((opts: AirflowCompileOptions) => airflowCompile(opts));
  const argo = program
    .command('argo')
    .description(`Argo Workflows: compile a pipeline into a Workflow (see ${docsUrl('deploy/argo.md')})`);
  common(argo.command('compile').description('write the Workflow YAML (stdout without -o)'))
    .option('-o, --out <file>', 'file to write the Workflow YAML to')
    .option('--image <image>', 'image with stepwise, the pipeline and its stepwise.yaml')
    .option('--stepwise-cmd <cmd>', 'the command that runs stepwise in the image', 'stepwise')
    .action((opts: ArgoCompileOptions) => argoCompile(opts));
}
