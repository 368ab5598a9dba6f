import { describe, expect, it } from 'vitest';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { archiveProblem, backupVerifyWorkflow } from './backup.workflows.js';
import { SITE_WORKFLOW_VERSION } from './site-steps.js';
import { askedThrough, shown } from './testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sha256Of, sitePlace } from './testing/memory-site-registry.js';

const site = sitePlace({ domain: 'a.example', db: 'db1' });
const backup = {
  id: 'backup-1',
  archiveId: 'files-1',
  databaseArchiveId: 'dump-1',
  domain: 'a.example',
  manifest: { archive: { sha256: sha256Of('files-1') }, database: { sha256: sha256Of('dump-1') } },
};
const scratch = { domain: 'verify-0a0b0c0d.a.example', database: 'verify_db', user: 'verify_user' };

function verify(fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined) {
  const registry = new MemorySiteRegistry({
    platforms: Object.values(PLATFORMS),
    sites: [site],
    backups: [structuredClone(backup)],
  });
  const harness = new WorkflowHarness(backupVerifyWorkflow(registry), {
    version: SITE_WORKFLOW_VERSION,
    type: 'site.backup-verify',
    params: { backupId: backup.id, scratch },
    targetId: site.siteId,
    targetName: site.domain,
    fail,
  });
  return { registry, harness };
}

const DEPLOY = [
  'db.create db1 database=verify_db',
  'site.extract web1 domain=a.example targetDomain=verify-0a0b0c0d.a.example archiveId=files-1',
  'db.import db1 database=verify_db archiveId=dump-1',
  'site.write-settings web1 domain=verify-0a0b0c0d.a.example database=verify_db',
  'site.link web1 domain=verify-0a0b0c0d.a.example platform=d102',
  'http.write-vhost web1 domain=verify-0a0b0c0d.a.example platform=d102',
  'probe.http web1 domain=verify-0a0b0c0d.a.example',
];
/** The scratch site's clean-ups, newest registered first. */
const CLEANUP = [
  'http.remove-vhost web1 domain=verify-0a0b0c0d.a.example',
  'site.unlink web1 domain=verify-0a0b0c0d.a.example platform=d102',
  'site.remove web1 domain=verify-0a0b0c0d.a.example',
  'db.drop db1 database=verify_db',
];

describe('restore test (site.backup-verify)', () => {
  it('checks both archives, restores them into a scratch site on the live platform, probes it, removes it, and records verifiedAt', async () => {
    const { registry, harness } = verify();
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls)).toEqual([...DEPLOY, ...CLEANUP]);
    // Nothing of the live site is touched.
    expect(
      trace.calls.every((call) => call.params.domain !== 'a.example' || call.step === 'site.extract'),
    ).toBe(true);
    expect(registry.writes).toEqual(['backups.setVerification backup-1 passed']);
    expect(trace.outcome.result).toEqual({
      backupId: 'backup-1',
      verifiedAt: '2026-12-06T04:00:00.000Z',
      probe: 200,
      archives: [
        { archiveId: 'files-1', sha256: sha256Of('files-1'), bytes: 100 },
        { archiveId: 'dump-1', sha256: sha256Of('dump-1'), bytes: 100 },
      ],
    });
  });

  it.each(['mismatch', 'missing'] as const)(
    'fails before any step on a %s archive, saying which, and records the failure',
    async (fault) => {
      const { registry, harness } = verify();
      registry.archiveFaults.set('dump-1', fault);
      const trace = await harness.run();
      expect(trace.state).toBe('failed');
      expect(trace.calls).toEqual([]);
      expect(trace.outcome.error).toContain(
        `backup backup-1 cannot be restored: its database archive dump-1 ${fault === 'missing' ? 'is recorded as stored but its file is missing' : 'no longer matches its sha256'}`,
      );
      expect(trace.outcome.error).toContain(', and it could not be put back: it has no off-site copy');
      expect(registry.writes).toEqual(['archives.putBack dump-1', 'backups.setVerification backup-1 failed']);
    },
  );

  it.each(['mismatch', 'missing'] as const)(
    'puts a %s archive back from its off-site copy, checks it again, and goes on',
    async (fault) => {
      const { registry, harness } = verify();
      registry.archiveFaults.set('files-1', fault);
      registry.offsiteCopies.set('files-1', 'offsite-eu');
      const trace = await harness.run();
      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual([...DEPLOY, ...CLEANUP]);
      expect(registry.writes).toEqual([
        'archives.putBack files-1',
        'backups.setVerification backup-1 passed',
      ]);
      expect(trace.logs.join('\n')).toContain('files archive files-1');
      expect(trace.logs.join('\n')).toContain('put back from off-site target offsite-eu');
    },
  );

  it('fails on an archive whose sha256 differs from the manifest', async () => {
    const { registry, harness } = verify();
    registry.backupRows[0]!.manifest = { archive: { sha256: 'e'.repeat(64) } };
    const trace = await harness.run();
    expect(trace.outcome.error).toContain(`but the backup's manifest lists ${'e'.repeat(64)}`);
    expect(trace.calls).toEqual([]);
  });

  it.each(DEPLOY.map((step, index) => [step, index + 1] as const))(
    'removes the scratch site and records a failure when %s fails',
    async (_step, failing) => {
      const { registry, harness } = verify((call) =>
        call.seq === failing ? stepFailure('boom') : undefined,
      );
      const trace = await harness.run();
      expect(trace.state).toBe('failed');
      expect(shown(trace.calls)).toEqual([...askedThrough(DEPLOY, failing), ...CLEANUP]);
      expect(registry.writes).toEqual(['backups.setVerification backup-1 failed']);
    },
  );

  it.each([...DEPLOY, ...CLEANUP].map((step, index) => [index + 1, step] as const))(
    'replays after a master restart before step %i (%s): the same steps, one outcome',
    async (stopBefore) => {
      const { registry, harness } = verify();
      expect(await harness.stopBeforeStep(stopBefore)).toBe('stopped');
      const trace = await harness.resume();
      expect(trace.state).toBe('succeeded');
      expect(shown(trace.calls)).toEqual([...DEPLOY, ...CLEANUP]);
      expect(registry.count('backups.setVerification')).toBe(1);
    },
  );

  it('fails with a message when the backup is gone', async () => {
    const { registry, harness } = verify();
    registry.backupRows.splice(0);
    const trace = await harness.run();
    expect(trace.outcome.error).toBe('backup backup-1 is gone: there is nothing to verify');
    expect(registry.writes).toEqual([]);
  });
});

describe('archiveProblem', () => {
  const expected = { sha256: 'a'.repeat(64), bytes: 10 };
  it('says nothing of a whole archive, and what is wrong with the others', () => {
    expect(archiveProblem({ archiveId: 'x', state: 'ok', expected, found: expected }, undefined)).toBeNull();
    expect(
      archiveProblem({ archiveId: 'x', state: 'not-stored', expected, found: null }, undefined),
    ).toContain('not in the store');
    expect(
      archiveProblem(
        { archiveId: 'x', state: 'mismatch', expected, found: { sha256: 'b'.repeat(64), bytes: 9 } },
        undefined,
      ),
    ).toBe(
      `x no longer matches its sha256: stored as 10 bytes with sha256 ${'a'.repeat(64)}, now 9 bytes with sha256 ${'b'.repeat(64)}`,
    );
  });
});
