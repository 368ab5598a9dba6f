import { describe, expect, it } from 'vitest';
import { newestPlatform } from './sites.service.js';

const platform = (
  name: string,
  coreVersion: string | null,
  extra: Partial<{ status: string; locked: boolean; clusterId: string | null; createdAt: Date }> = {},
) => ({
  name,
  coreVersion,
  status: 'verified',
  locked: false,
  clusterId: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  ...extra,
});

describe('newestPlatform (site new)', () => {
  const platforms = [
    platform('d1029', '10.2.9'),
    platform('d10310', '10.3.10'),
    platform('d1032', '10.3.2'),
    platform('d110', '11.0.1'),
    platform('d111-locked', '11.1.0', { locked: true }),
    platform('d112-new', '11.2.0', { status: 'new' }),
    platform('d113-cluster', '11.3.0', { clusterId: 'c1' }),
  ];

  it('picks the newest core version of a major, numerically (10.3.10 after 10.3.2)', () => {
    expect(newestPlatform(platforms, 10)?.name).toBe('d10310');
  });

  it('leaves out locked, unverified and cluster platforms, and takes the newest of all without a major', () => {
    expect(newestPlatform(platforms, 11)?.name).toBe('d110');
    expect(newestPlatform(platforms, null)?.name).toBe('d110');
  });

  it('finds none for a major nothing runs, and takes the later one of two equal versions', () => {
    expect(newestPlatform(platforms, 12)).toBeNull();
    const later = platform('d110-b', '11.0.1', { createdAt: new Date('2026-02-01T00:00:00Z') });
    expect(newestPlatform([...platforms, later], 11)?.name).toBe('d110-b');
  });
});
