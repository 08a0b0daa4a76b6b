import { loadInstanceConfig } from '../config/instance-config.js';
import { UsageError } from '../errors/index.js';
import { loadExecutorPlugin } from '../execution/executor-registry.js';
import { loadCodeLocation } from '../location/code-location.js';
import { buildPlan } from '../plan/build-plan.js';
import { renderPlanDot, renderPlanJson, renderPlanText } from '../plan/render.js';
import { EXIT } from './errors.js';
import { loadRunConfig } from './options.js';

export interface PlanCommandOptions {
  file: string;
  pipeline?: string;
  config?: string[];
  select?: string;
  json?: boolean;
  dot?: boolean;
}

/** `stepwise plan`: compiles the plan (validating the run config) and prints it as text, JSON or DOT. */
export async function planCommand(opts: PlanCommandOptions): Promise<number> {
  if (opts.json && opts.dot) throw new UsageError('give --json or --dot, not both');
  const { pipeline } = await loadCodeLocation(opts);
  const runConfig = loadRunConfig(opts.config);
  // The executor kinds the run config may name: stepwise.yaml's plugins, then the package providing the one named.
  await loadInstanceConfig();
  await loadExecutorPlugin(runConfig);
  const plan = buildPlan(pipeline, runConfig, { stepSelection: opts.select });
  const render = opts.json ? renderPlanJson : opts.dot ? renderPlanDot : renderPlanText;
  process.stdout.write(render(plan));
  return EXIT.success;
}
