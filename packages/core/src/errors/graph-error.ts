import { StepwiseError } from './stepwise-error.js';

/** The pipeline graph is malformed: cycle, unknown input, duplicate name, input fed twice. */
export class GraphError extends StepwiseError {
  constructor(message: string) {
    super('GRAPH_INVALID', message);
  }
}
