import type { CompiledPlan, RetryPolicy } from '@stepwise/core';
import { MAPPING_KEY_ENV } from '@stepwise/core';
import { CompileError } from './errors.js';
import { airflowTaskId, dnsLabel } from './names.js';
import { pyStr, pyValue } from './python-literals.js';
import { type CompiledTask, taskGraph } from './task-graph.js';

export interface AirflowDagOptions {
  dagId: string;
  /** The pipeline file as the tasks see it (absolute). */
  pipelineFile: string;
  /** The compiled plan's file name, beside the DAG file. */
  planFileName: string;
  /** Cron or Airflow preset; default none (runs only when triggered). */
  schedule?: string;
  /** The command that runs the CLI on the workers (BashOperator) or in the image (KubernetesPodOperator). */
  stepwiseCommand: string;
  operator: 'bash' | 'kubernetes';
  image?: string;
  namespace?: string;
}

/** Linux's limit on one environment string (MAX_ARG_STRLEN): the plan travels to pods in $STEPWISE_PLAN. */
const MAX_ENV_PLAN_BYTES = 128 * 1024 - 64;

/** The Airflow trigger rules (see docs/deploy/airflow.md, "Skips"). */
const AFTER_SKIPS = 'none_failed';
const MAPPED = 'none_failed_min_one_success';

/**
 * The id of the task that turns the fan-out task's mapping keys into a mapped task's expansion (`.` is in no step
 * key, so no step's task has it).
 */
export function mappingKeysTaskId(mappedTaskId: string): string {
  return `${mappedTaskId}.mapping_keys`;
}

function retryArgs(retry: RetryPolicy | undefined): string[] {
  if (!retry) return [];
  const args = [`retries=${retry.maxRetries}`, `retry_delay=timedelta(milliseconds=${retry.delayMs ?? 0})`];
  if (retry.backoff === 'exponential') {
    args.push(
      'retry_exponential_backoff=True',
      `max_retry_delay=timedelta(milliseconds=${retry.maxDelayMs ?? 300_000})`,
    );
  }
  return args;
}

/** Renders the DAG file: byte-identical for the same inputs (no dates, no hash-ordered maps). */
export function renderAirflowDag(compiled: CompiledPlan, options: AirflowDagOptions): string {
  const tasks = taskGraph(compiled.plan);
  const ids = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const task of tasks) {
    const id = airflowTaskId(task.stepKey);
    const other = seen.get(id);
    if (other !== undefined)
      throw new CompileError(`steps '${other}' and '${task.stepKey}' get the same Airflow task id '${id}'`);
    seen.set(id, task.stepKey);
    ids.set(task.stepKey, id);
  }
  const kube = options.operator === 'kubernetes';
  if (kube && !options.image)
    throw new CompileError('--operator kubernetes needs --image IMAGE: the image with stepwise and the pipeline');
  const planBytes = Buffer.byteLength(JSON.stringify(compiled));
  if (kube && planBytes > MAX_ENV_PLAN_BYTES) {
    throw new CompileError(
      `the compiled plan is ${planBytes} bytes, more than a pod's environment variable may hold (${MAX_ENV_PLAN_BYTES}); use --operator bash, or split the pipeline`,
    );
  }
  if (kube && JSON.stringify(compiled).includes('{% endraw %}')) {
    throw new CompileError(
      "the run config holds '{% endraw %}', which would end the plan's raw block in Airflow's template",
    );
  }
  const idOf = (key: string) => ids.get(key) as string;
  const edges: Array<[string, string]> = [];
  for (const task of tasks) {
    for (const up of task.upstream) {
      if (up !== task.mappedOver) edges.push([idOf(up), idOf(task.stepKey)]);
    }
    if (task.mappedOver) {
      const keys = mappingKeysTaskId(idOf(task.stepKey));
      edges.push([idOf(task.mappedOver), keys], [keys, idOf(task.stepKey)]);
    }
  }
  const lines: string[] = [];
  const out = (...more: string[]) => lines.push(...more);
  out(
    `"""Airflow DAG ${options.dagId}: pipeline '${compiled.pipeline}' compiled by \`stepwise airflow compile\`; compile again to change it.`,
    '',
    `Each task runs one step of one Stepwise run per DAG run (\`${options.dagId}__<run_id>\`) with \`stepwise execute-step\`,`,
    `from the plan ${options.planFileName} beside this file. Nothing of Stepwise or of the pipeline is imported here:`,
    'parsing this file needs Airflow (>= 2.3) alone.',
    '"""',
    '',
    'import json',
    'import os',
    ...(kube ? [] : ['import shlex']),
    'from datetime import datetime, timedelta, timezone',
    '',
    'from airflow import DAG',
    ...(kube
      ? [
          'from airflow.operators.python import PythonOperator',
          '',
          'try:',
          '    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator',
          'except ImportError:  # apache-airflow-providers-cncf-kubernetes before 5.0',
          '    from airflow.providers.cncf.kubernetes.operators.kubernetes_pod import KubernetesPodOperator',
        ]
      : ['from airflow.operators.bash import BashOperator', 'from airflow.operators.python import PythonOperator']),
    '',
    `DAG_ID = ${pyStr(options.dagId)}`,
    `PLAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), ${pyStr(options.planFileName)})`,
    `STEPWISE = ${pyStr(options.stepwiseCommand)}`,
    `PIPELINE_FILE = ${pyStr(options.pipelineFile)}`,
    '# The Stepwise run of a DAG run; execute-step makes it safe for paths and Redis keys.',
    'RUN_ID = DAG_ID + "__{{ run_id }}"',
  );
  if (kube) {
    out(
      `IMAGE = ${pyStr(options.image as string)}`,
      `NAMESPACE = ${pyStr(options.namespace ?? 'default')}`,
      '# The plan goes to each pod in $STEPWISE_PLAN; raw: Airflow renders env_vars as a template.',
      'with open(PLAN, encoding="utf-8") as plan_file:',
      '    PLAN_ENV = {"STEPWISE_PLAN": "{% raw %}" + plan_file.read() + "{% endraw %}"}',
    );
  }
  out('', '# Airflow task id -> Stepwise step key.', 'STEP_KEYS = {');
  for (const task of tasks) out(`    ${pyStr(idOf(task.stepKey))}: ${pyStr(task.stepKey)},`);
  out('}', '', '# Upstream task id, downstream task id: the edges of the plan.', 'EDGES = [');
  for (const [a, b] of edges) out(`    (${pyStr(a)}, ${pyStr(b)}),`);
  out(']', '', '');
  if (kube) {
    out(
      'def step_arguments(step_key, run_id=RUN_ID, keys_file=None):',
      '    """The arguments of `stepwise` in a pod: a list, no shell. A skipped step exits 0 (not every provider',
      '    version has skip_on_exit_code): the pod succeeds, and the steps after it skip themselves."""',
      '    args = ["execute-step", "-f", PIPELINE_FILE, "--create-run", "--run-id", run_id, "--step", step_key,',
      '            "--skip-exit-code", "0"]',
      '    return args + (["--keys-file", keys_file] if keys_file else [])',
      '',
      '',
      'def mapping_arguments(keys, step_key, run_id):',
      '    """The arguments of each mapped pod: one mapping key of the fan-out pod\'s list each."""',
      '    keys = json.loads(keys) if isinstance(keys, str) else keys',
      `    return [step_arguments(step_key, run_id) + ["--mapping-key", key] for key in keys]`,
    );
  } else {
    out(
      'def step_command(task_id):',
      '    """The shell command of a task: the run id and mapping key come from its env, never spliced in here."""',
      '    return " ".join([',
      '        STEPWISE, "execute-step", "-f", shlex.quote(PIPELINE_FILE), "--create-run", "--plan", shlex.quote(PLAN),',
      '        "--run-id", \'"$STEPWISE_RUN_ID"\', "--step", shlex.quote(STEP_KEYS[task_id]),',
      '    ])',
      '',
      '',
      'def mapping_envs(keys_line, run_id):',
      '    """The env of each mapped task: one mapping key of the JSON list the fan-out task printed last."""',
      `    return [{"STEPWISE_RUN_ID": run_id, ${pyStr(MAPPING_KEY_ENV)}: key} for key in json.loads(keys_line)]`,
    );
  }
  out(
    '',
    '',
    'with DAG(',
    '    dag_id=DAG_ID,',
    `    schedule_interval=${options.schedule === undefined ? 'None' : pyStr(options.schedule)},`,
    '    start_date=datetime(2020, 1, 1, tzinfo=timezone.utc),',
    '    catchup=False,',
    `    tags=${pyValue(['stepwise', compiled.pipeline])},`,
    ') as dag:',
    '    tasks = {}',
  );
  for (const task of tasks) renderTask(task, idOf, kube, out);
  out('    for upstream, downstream in EDGES:', '        tasks[upstream] >> tasks[downstream]', '');
  return lines.join('\n');
}

function renderTask(task: CompiledTask, idOf: (key: string) => string, kube: boolean, out: (...l: string[]) => void) {
  const id = idOf(task.stepKey);
  const args: string[] = [`task_id=${pyStr(id)}`];
  if (kube) {
    args.push(`name=${pyStr(dnsLabel(`stepwise-${id}`))}`, 'namespace=NAMESPACE', 'image=IMAGE', 'cmds=[STEPWISE]');
    if (!task.mappedOver) {
      const keysFile = task.fanOut ? ', keys_file="/airflow/xcom/return.json"' : '';
      args.push(`arguments=step_arguments(${pyStr(task.stepKey)}${keysFile})`);
    }
    args.push('env_vars=PLAN_ENV', `do_xcom_push=${task.fanOut ? 'True' : 'False'}`, 'get_logs=True');
  } else {
    args.push(`bash_command=step_command(${pyStr(id)})`);
    if (!task.mappedOver) args.push('env={"STEPWISE_RUN_ID": RUN_ID}');
    args.push('append_env=True');
  }
  if (task.mappedOver) args.push(`trigger_rule=${pyStr(MAPPED)}`);
  else if (task.upstream.length > 0) args.push(`trigger_rule=${pyStr(AFTER_SKIPS)}`);
  args.push(...retryArgs(task.retry));
  const operator = kube ? 'KubernetesPodOperator' : 'BashOperator';
  const body = args.map((a) => `        ${a},`);
  if (!task.mappedOver) {
    out(`    tasks[${pyStr(id)}] = ${operator}(`, ...body, '    )');
    return;
  }
  const keysId = mappingKeysTaskId(id);
  const source = `tasks[${pyStr(idOf(task.mappedOver))}].output`;
  const kwargs = kube
    ? `{"keys": ${source}, "step_key": ${pyStr(task.stepKey)}, "run_id": RUN_ID}`
    : `{"keys_line": ${source}, "run_id": RUN_ID}`;
  out(
    `    tasks[${pyStr(keysId)}] = PythonOperator(`,
    `        task_id=${pyStr(keysId)},`,
    `        python_callable=${kube ? 'mapping_arguments' : 'mapping_envs'},`,
    `        op_kwargs=${kwargs},`,
    '    )',
    `    tasks[${pyStr(id)}] = ${operator}.partial(`,
    ...body,
    `    ).expand(${kube ? 'arguments' : 'env'}=tasks[${pyStr(keysId)}].output)`,
  );
}
