import type { StepCall } from '../../../tasks/testing/workflow-harness.js';

/** The params that tell the site workflows' steps apart, in the order they are shown. */
const SHOWN = ['domain', 'targetDomain', 'platform', 'on', 'disabled', 'database', 'archiveId'] as const;

/** A step call as one line: `step server key=value ...`, e.g. `site.link web1 domain=a.example platform=d103`. */
export function show(call: StepCall): string {
  const params = SHOWN.filter((key) => call.params[key] !== undefined && call.params[key] !== null).map(
    (key) => {
      const value = call.params[key];
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    },
  );
  return [call.step, call.server, ...params].join(' ');
}

/** The calls of a trace, shown. */
export function shown(calls: readonly StepCall[]): string[] {
  return calls.map(show);
}
