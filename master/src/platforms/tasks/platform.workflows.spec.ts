import { describe, expect, it } from 'vitest';
import { WorkflowHarness } from '../../tasks/testing/workflow-harness.js';
import { DEFAULT_STEP_OUTPUTS } from '../../tasks/testing/step-outputs.js';
import { platformWorkflows } from './platform.workflows.js';

const HEADS = [
  { serverId: 'web1', name: 'web1' },
  { serverId: 'web2', name: 'web2' },
];

/** platform.verify of a platform on a cluster, with the sha256 each head's scan reports in turn. */
function verify(hashes: string[]) {
  const calls: string[] = [];
  const [workflow] = platformWorkflows({
    platforms: {
      recordVerified: (id, core) => Promise.resolve(void calls.push(`verified ${id} ${core}`)),
      recordFailed: (id, evenIfVerified) =>
        Promise.resolve(void calls.push(`failed ${id}${evenIfVerified ? ' even if verified' : ''}`)),
    },
    packages: { replace: () => Promise.resolve() },
  });
  let scans = 0;
  const harness = new WorkflowHarness((context) => workflow!.run(context) as never, {
    type: 'platform.verify',
    params: { platform: 'd103', serverId: 'web1', heads: HEADS },
    targetId: 'p1',
    outputs: {
      'platform.scan': (params) => ({
        ...DEFAULT_STEP_OUTPUTS['platform.scan'](params),
        content: { sha256: hashes[scans++]!, files: 10, bytes: 1000 },
      }),
    },
  });
  return { harness, calls };
}

describe('platform.verify on a cluster', () => {
  it('scans every head and takes the platform when their codebases hash the same', async () => {
    const { harness, calls } = verify(['a'.repeat(64), 'a'.repeat(64)]);
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(trace.calls.map((call) => `${call.step} ${call.server}`)).toEqual([
      'platform.scan web1',
      'platform.scan web2',
    ]);
    expect(trace.outcome.result).toMatchObject({ coreVersion: '10.3.0', sha256: 'a'.repeat(64) });
    expect(calls).toEqual(['verified p1 10.3.0']);
  });

  it('refuses the platform, verified or not, when one head differs, naming each head', async () => {
    const { harness, calls } = verify(['a'.repeat(64), 'b'.repeat(64)]);
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(trace.outcome.error).toBe(
      "the heads' codebases of d103 differ: web1 aaaaaaaaaaaa (10 files, 1000 bytes); " +
        'web2 bbbbbbbbbbbb (10 files, 1000 bytes); make them the same and verify again',
    );
    expect(calls).toEqual(['failed p1 even if verified']);
  });
});
