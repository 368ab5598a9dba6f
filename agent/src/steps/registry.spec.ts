import { describe, expect, it } from 'vitest';
import { DEBUG_STEP_NAMES, STEP_NAMES } from '../../../shared/src/steps.js';
import { StepRegistry } from './registry.js';

const registry = new StepRegistry({ debugSteps: true });

function check(step: string, params: unknown): { ok: boolean; message?: string } {
  const registered = registry.get(step);
  if (!registered) throw new Error(`no step ${step}`);
  const prepared = registered.prepare(params);
  return prepared.ok ? { ok: true } : { ok: false, message: prepared.failure.message };
}

describe('StepRegistry', () => {
  it('offers the whole vocabulary with debug steps, and hides them without', () => {
    expect(registry.names().sort()).toEqual([...STEP_NAMES].sort());
    const production = new StepRegistry({ debugSteps: false });
    expect(production.names().sort()).toEqual(
      STEP_NAMES.filter((name) => !DEBUG_STEP_NAMES.includes(name)).sort(),
    );
    expect(production.get('debug.sleep')).toBeUndefined();
  });
});

describe('step parameters', () => {
  it.each(['server.probe', 'debug.noop'])('%s takes an empty object and nothing else', (step) => {
    expect(check(step, {})).toEqual({ ok: true });
    expect(check(step, { x: 1 })).toEqual({ ok: false, message: 'unknown parameter "x"' });
    expect(check(step, null).ok).toBe(false);
    expect(check(step, []).ok).toBe(false);
    expect(check(step, 'x').ok).toBe(false);
  });

  it('debug.sleep takes a whole number of milliseconds up to a day', () => {
    expect(check('debug.sleep', { ms: 0 })).toEqual({ ok: true });
    expect(check('debug.sleep', { ms: 86_400_000 })).toEqual({ ok: true });
    expect(check('debug.sleep', { ms: 86_400_001 }).message).toMatch(/between 0 and 86400000/);
    expect(check('debug.sleep', { ms: 1.5 }).message).toMatch(/whole number/);
    expect(check('debug.sleep', { ms: '100' }).message).toMatch(/whole number/);
    expect(check('debug.sleep', { ms: Number.NaN }).ok).toBe(false);
    expect(check('debug.sleep', {}).message).toMatch(/"ms" is required/);
    expect(check('debug.sleep', { ms: 1, extra: true }).message).toMatch(/unknown parameter "extra"/);
  });

  it('link.transfer-check takes an archive UUID and a positive byte count', () => {
    const archiveId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(check('link.transfer-check', { archiveId, bytes: 1 })).toEqual({ ok: true });
    expect(check('link.transfer-check', { archiveId, bytes: 0 }).ok).toBe(false);
    expect(check('link.transfer-check', { archiveId, bytes: 9 * 1024 ** 3 }).ok).toBe(false);
    expect(check('link.transfer-check', { archiveId: '../../etc/passwd', bytes: 10 }).message).toMatch(
      /UUID/,
    );
    expect(check('link.transfer-check', { archiveId: archiveId.toUpperCase(), bytes: 10 }).ok).toBe(false);
    expect(check('link.transfer-check', { bytes: 10 }).message).toMatch(/"archiveId" is required/);
    expect(check('link.transfer-check', { archiveId, bytes: 10, path: '/tmp' }).ok).toBe(false);
  });
});
