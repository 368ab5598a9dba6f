import type { StepHandler } from '../step.js';
import { noParams } from '../params.js';

/** Does nothing: measures dispatch latency from the master to a step and back. */
export const debugNoop: StepHandler<'debug.noop'> = {
  name: 'debug.noop',
  parseParams: noParams,
  run: () => Promise.resolve({ at: Date.now() }),
};
