import { describe, expect, it } from 'vitest';
import { migrateCandidates } from './migrate-candidates.js';

const platform = (
  id: string,
  name: string,
  overrides: { status?: 'new' | 'verified'; locked?: boolean } = {},
) => ({
  id,
  name,
  status: overrides.status ?? ('verified' as const),
  coreVersion: '10.3.0',
  locked: overrides.locked ?? false,
});

describe('migrateCandidates', () => {
  it('lists the verified platforms other than the site’s own, by name', () => {
    const candidates = migrateCandidates({ platformId: 'p1' }, [
      platform('p3', 'zeta'),
      platform('p1', 'current'),
      platform('p2', 'alpha', { locked: true }),
      platform('p4', 'unscanned', { status: 'new' }),
    ]);
    expect(candidates).toEqual([
      { name: 'alpha', coreVersion: '10.3.0', locked: true },
      { name: 'zeta', coreVersion: '10.3.0', locked: false },
    ]);
  });

  it('is empty when the site’s platform is the only one', () => {
    expect(migrateCandidates({ platformId: 'p1' }, [platform('p1', 'current')])).toEqual([]);
  });
});
