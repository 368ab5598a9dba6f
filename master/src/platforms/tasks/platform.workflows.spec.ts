import { describe, expect, it } from 'vitest';
import type { PlatformSource } from '../../../../shared/src/platform-source.js';
import type { PackageRow } from '../../packages/package-release.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { DEFAULT_STEP_OUTPUTS } from '../../tasks/testing/step-outputs.js';
import {
  packageChanges,
  platformWorkflows,
  type PlatformWorkflowDependencies,
} from './platform.workflows.js';

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
      recordBuilt: () => Promise.reject(new Error('no builds here')),
      remove: () => Promise.reject(new Error('no builds here')),
      commitOf: () => Promise.resolve(null),
      pathOf: () => Promise.resolve(null),
    },
    packages: { replace: () => Promise.resolve(), list: () => Promise.resolve([]) },
    archives: { reserve: () => Promise.reject(new Error('no copies here')), remove: () => Promise.resolve() },
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

/** The registry as the build and pull workflows see it: every write listed, in order. */
function registry(commit: string | null = null) {
  const writes: string[] = [];
  const deps: PlatformWorkflowDependencies = {
    platforms: {
      recordVerified: (id, core) => Promise.resolve(void writes.push(`verified ${id} ${core}`)),
      recordFailed: (id) => Promise.resolve(void writes.push(`failed ${id}`)),
      recordBuilt: (id, built) =>
        Promise.resolve(void writes.push(`built ${id} ${built.path} ${built.commit}`)),
      remove: (id) => Promise.resolve(void writes.push(`removed ${id}`)),
      commitOf: () => Promise.resolve(commit),
      pathOf: () => Promise.resolve('/var/berth/platforms/d103'),
    },
    packages: {
      replace: (owner, releases) =>
        Promise.resolve(void writes.push(`packages ${owner.platformId} ${releases.length}`)),
      list: () => Promise.resolve([]),
    },
    archives: {
      reserve: () => Promise.resolve('copy-archive'),
      remove: (id) => Promise.resolve(void writes.push(`archive removed ${id}`)),
    },
  };
  return { deps, writes };
}

const SOURCE: PlatformSource = { kind: 'git', url: '/srv/platform.git', ref: 'v10.3' };
const shown = (calls: readonly StepCall[]) =>
  calls.map((call) => `${call.step} ${call.server}${call.params.leftLinks ? ' leftLinks' : ''}`);

function build(options: {
  heads?: typeof HEADS;
  copyOf?: { serverId: string; platform: string; commit: string | null };
  fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined;
}) {
  const { deps, writes } = registry();
  const workflow = platformWorkflows(deps).find((registration) => registration.type === 'platform.build')!;
  const harness = new WorkflowHarness((context) => workflow.run(context) as never, {
    type: 'platform.build',
    params: {
      platform: 'd103',
      serverId: 'web1',
      source: SOURCE,
      ...(options.heads ? { heads: options.heads } : {}),
      ...(options.copyOf ? { copyOf: options.copyOf } : {}),
    },
    targetId: 'p9',
    targetName: 'd103',
    // Every head holds the same build: the same content hash.
    outputs: {
      'platform.scan': (params) => ({
        ...DEFAULT_STEP_OUTPUTS['platform.scan'](params),
        content: { sha256: 'a'.repeat(64), files: 10, bytes: 1000 },
      }),
    },
    ...(options.fail ? { fail: options.fail } : {}),
  });
  return { harness, writes };
}

describe('platform.build', () => {
  it('builds on its server, records where and at which commit, then scans and verifies it', async () => {
    const { harness, writes } = build({});
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual(['platform.build web1', 'platform.scan web1']);
    expect(trace.calls[0]!.params).toEqual({ platform: 'd103', source: SOURCE });
    expect(writes).toEqual([
      `built p9 /var/berth/platforms/d103 ${'c0'.repeat(20)}`,
      'packages p9 1',
      'verified p9 10.3.0',
    ]);
    expect(trace.outcome.result).toMatchObject({
      commit: 'c0'.repeat(20),
      coreVersion: '10.3.0',
      composer: true,
    });
  });

  it("builds a cluster's platform on its first head and copies that build to the others", async () => {
    const { harness, writes } = build({ heads: HEADS });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([
      'platform.build web1',
      'platform.archive web1',
      'platform.extract web2',
      'platform.scan web1',
      'platform.scan web2',
    ]);
    expect(writes).toContain('archive removed copy-archive');
  });

  it("copies another server's platform under the new name instead of building, keeping its commit", async () => {
    const commit = 'c1'.repeat(20);
    const { harness, writes } = build({ copyOf: { serverId: 'web7', platform: 'd103-web7', commit } });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([
      'platform.archive web7',
      'platform.extract web1',
      'platform.scan web1',
    ]);
    expect(trace.calls[0]!.params).toMatchObject({ platform: 'd103-web7' });
    expect(trace.calls[1]!.params).toMatchObject({ platform: 'd103', from: 'd103-web7' });
    expect(writes).toEqual(
      expect.arrayContaining([
        `built p9 /var/berth/platforms/d103 ${commit}`,
        'archive removed copy-archive',
      ]),
    );
    expect(trace.phases.map((phase) => phase.name)).toEqual(['copy', 'scan']);
  });

  it.each([
    ['the build', 1],
    ['the copy to a head', 3],
    ['the scan', 4],
  ])(
    'removes what was built, everywhere, and the platform from the registry when %s fails',
    async (_what, failing) => {
      const { harness, writes } = build({
        heads: HEADS,
        fail: (call) => (call.seq === failing ? stepFailure('boom') : undefined),
      });
      const trace = await harness.run();
      expect(trace.state).toBe('failed');
      expect(shown(trace.calls).slice(failing)).toEqual(['platform.remove web1', 'platform.remove web2']);
      expect(writes.at(-1)).toBe('removed p9');
      expect(writes).not.toContain('verified p9 10.3.0');
      expect(trace.outcome.rollbackCompleted).toBe(true);
    },
  );
});

describe('platform.pull', () => {
  function pull(fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined) {
    const { deps, writes } = registry('c0'.repeat(20));
    const workflow = platformWorkflows(deps).find((registration) => registration.type === 'platform.pull')!;
    const harness = new WorkflowHarness((context) => workflow.run(context) as never, {
      type: 'platform.pull',
      params: { platform: 'd103', serverId: 'web1', ref: 'v10.4' },
      targetId: 'p9',
      ...(fail ? { fail } : {}),
    });
    return { harness, writes };
  }

  it('moves the checkout, records the new commit and scans it again', async () => {
    const { harness, writes } = pull();
    const trace = await harness.run();
    expect(trace.calls.map((call) => [call.step, call.params.ref])).toEqual([
      ['platform.pull', 'v10.4'],
      ['platform.scan', undefined],
    ]);
    expect(writes[0]).toBe(`built p9 /var/berth/platforms/d103 ${'c1'.repeat(20)}`);
    expect(trace.outcome.result).toMatchObject({ commit: 'c1'.repeat(20), previous: 'c0'.repeat(20) });
  });

  it('puts the checkout back at the commit it was at when the scan fails', async () => {
    const { harness } = pull((call) => (call.step === 'platform.scan' ? stepFailure('no core') : undefined));
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(trace.calls.map((call) => [call.step, call.params.ref])).toEqual([
      ['platform.pull', 'v10.4'],
      ['platform.scan', undefined],
      ['platform.pull', 'c0'.repeat(20)],
    ]);
  });
});

describe('packageChanges', () => {
  const row = (name: string, version: string | null, schemaVersion: number) =>
    ({ name, version, schemaVersion }) as Pick<PackageRow, 'name' | 'version' | 'schemaVersion'>;
  it('lists what was added, removed, or changed in version or schema, by name', () => {
    expect(
      packageChanges(
        [
          row('drupal', '10.2.0', 10200),
          row('node', '10.2.0', 10201),
          row('gone', '1.0', 0),
          row('same', '1.0', 1),
        ],
        [
          row('drupal', '10.3.0', 10300),
          row('node', '10.3.0', 10201),
          row('new', '2.0', 0),
          row('same', '1.0', 1),
        ],
      ),
    ).toEqual([
      {
        name: 'drupal',
        from: { version: '10.2.0', schema: 10200 },
        to: { version: '10.3.0', schema: 10300 },
      },
      { name: 'gone', from: { version: '1.0', schema: 0 }, to: null },
      { name: 'new', from: null, to: { version: '2.0', schema: 0 } },
      { name: 'node', from: { version: '10.2.0', schema: 10201 }, to: { version: '10.3.0', schema: 10201 } },
    ]);
  });
});
