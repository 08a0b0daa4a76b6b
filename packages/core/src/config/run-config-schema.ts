import { z } from 'zod';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { formatPath } from './format-issues.js';
import {
  configDefaultOf,
  describeBinding,
  executionSchema,
  inputIsOptional,
  type RunConfig,
  tagsSchema,
} from './run-config.js';

const schemas = new WeakMap<PipelineDefinition, z.ZodType<RunConfig>>();

/**
 * The run config's shape for `pipeline` as a zod schema (for documentation, JSON Schema export or editors).
 * `validateRunConfig` applies the same rules with more precise messages and is faster on large
 * pipelines; use it to validate.
 */
export function runConfigSchema(pipeline: PipelineDefinition): z.ZodType<RunConfig> {
  const cached = schemas.get(pipeline);
  if (cached) return cached;
  const noConfig = z.strictObject({}).nullable().optional();
  const opsShape: Record<string, z.ZodType> = {};
  let opsRequired = false;
  for (const node of pipeline.nodes.values()) {
    const shape: Record<string, z.ZodType> = {};
    let required = false;
    const schema = node.op.configSchema;
    if (schema === undefined) shape.config = noConfig;
    else if (configDefaultOf(schema).required) {
      shape.config = schema;
      required = true;
    } else shape.config = schema.optional();
    const inputsShape: Record<string, z.ZodType> = {};
    let inputsRequired = false;
    for (const [name, inSchema] of Object.entries(node.op.ins)) {
      const binding = node.inputs[name];
      if (binding !== undefined) {
        const path = formatPath(['ops', node.name, 'inputs', name]);
        inputsShape[name] = z
          .never({ error: `input fed twice: ${path} is also fed by ${describeBinding(binding)}` })
          .optional();
      } else if (inputIsOptional(inSchema)) inputsShape[name] = inSchema.optional();
      else {
        inputsShape[name] = inSchema;
        inputsRequired = true;
      }
    }
    shape.inputs = inputsRequired ? z.strictObject(inputsShape) : z.strictObject(inputsShape).optional();
    required ||= inputsRequired;
    opsShape[node.name] = required ? z.strictObject(shape) : z.strictObject(shape).nullable().optional();
    opsRequired ||= required;
  }
  const resourcesShape: Record<string, z.ZodType> = {};
  let resourcesRequired = false;
  for (const [name, definition] of Object.entries(pipeline.resources)) {
    const schema = definition.configSchema;
    if (schema !== undefined && configDefaultOf(schema).required) {
      resourcesShape[name] = z.strictObject({ config: schema });
      resourcesRequired = true;
    } else {
      resourcesShape[name] = z
        .strictObject({ config: schema ? schema.optional() : noConfig })
        .nullable()
        .optional();
    }
  }
  const ops = z.strictObject(opsShape);
  const resources = z.strictObject(resourcesShape);
  const built = z.strictObject({
    ops: opsRequired ? ops : ops.nullable().optional(),
    resources: resourcesRequired ? resources : resources.nullable().optional(),
    // Lazy: the executor kinds are those registered when a config is validated, not when the schema was built.
    execution: z
      .lazy(() => executionSchema())
      .nullable()
      .optional(),
    tags: tagsSchema.nullable().optional(),
  }) as unknown as z.ZodType<RunConfig>;
  schemas.set(pipeline, built);
  return built;
}
