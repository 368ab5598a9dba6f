import { integerParam, paramsObject } from '../params.js';
import type { StepHandler } from '../step.js';

export const MAX_SLEEP_MS = 24 * 3600_000;

/**
 * Sleeps in a real child process (`sleep`), so that cancellation, timeouts and a killed agent
 * behave as they do for a long real step.
 */
export const debugSleep: StepHandler<'debug.sleep'> = {
  name: 'debug.sleep',
  parseParams(input) {
    const object = paramsObject(input, ['ms']);
    if (!object.ok) return object;
    const ms = integerParam('ms', object.value.ms, 0, MAX_SLEEP_MS);
    return ms.ok ? { ok: true, value: { ms: ms.value } } : ms;
  },
  async run({ ms }, context) {
    const started = performance.now();
    context.note(`sleeping ${ms} ms`);
    await context.exec({ file: 'sleep', args: [(ms / 1000).toFixed(3)] });
    return { sleptMs: Math.round(performance.now() - started) };
  },
};
