import { expect } from 'vitest';
import type { StepCall, WorkflowHarness, WorkflowTrace } from '../../../tasks/testing/workflow-harness.js';
import type { TaskType } from '../../../../../shared/src/tasks.js';

/** The params that tell the site workflows' steps apart, in the order they are shown. */
const SHOWN = [
  'domain',
  'targetDomain',
  'platform',
  'on',
  'disabled',
  'database',
  'archiveId',
  'siteArchive',
  'delta',
  'proxyTo',
  'fresh',
  'hook',
  'ref',
  'commit',
  'onlyFiles',
  'since',
  'from',
  'to',
  'alsoInto',
  'aside',
  'setAsideAs',
] as const;

/** A step call as one line: `step server key=value ...`, e.g. `site.link web1 domain=a.example platform=d103`. */
export function show(call: StepCall): string {
  const params = SHOWN.filter((key) => call.params[key] !== undefined && call.params[key] !== null).map(
    (key) => {
      const value = call.params[key];
      return `${key}=${typeof value === 'string' ? value : isBinlogPosition(value) ? `${value.file}:${value.position}` : JSON.stringify(value)}`;
    },
  );
  return [call.step, call.server, ...params].join(' ');
}

function isBinlogPosition(value: unknown): value is { file: string; position: number } {
  return typeof value === 'object' && value !== null && 'file' in value && 'position' in value;
}

/** The calls of a trace, shown. */
export function shown(calls: readonly StepCall[]): string[] {
  return calls.map(show);
}

/** A step of a pair asked for side by side (SiteSteps.archive, restoreBackup) → its partner. */
const SIDE_BY_SIDE: Record<string, string> = { 'site.archive': 'db.dump', 'site.extract': 'db.import' };

/**
 * The steps asked for when step `failing` (1-based) of `steps` fails: those up to it, and its
 * partner when it is the first of a pair asked for side by side (already asked, it still runs).
 */
export function askedThrough(steps: readonly string[], failing: number): string[] {
  const asked = steps.slice(0, failing);
  const partner = SIDE_BY_SIDE[asked.at(-1)?.split(' ')[0] ?? ''];
  const next = steps[failing];
  return partner && next?.startsWith(`${partner} `) ? [...asked, next] : asked;
}

/**
 * The undo steps that run when step `failing` fails, newest first: those registered before a step
 * up to it (`undo` pairs each with the step before which it is registered).
 */
export function undoneAfter(undo: ReadonlyArray<readonly [string, number]>, failing: number): string[] {
  return undo
    .filter(([, before]) => before <= failing)
    .map(([step]) => step)
    .reverse();
}

/** A master stops before step `seq`, and a restarted one replays the task to its end. */
export async function replayedBefore<T extends TaskType>(
  harness: WorkflowHarness<T>,
  seq: number,
): Promise<WorkflowTrace> {
  expect(await harness.stopBeforeStep(seq)).toBe('stopped');
  return harness.resume();
}
