import { describe, expect, it } from 'vitest';
import type { SiteEdge } from '../../../../shared/src/site-edge.js';
import type { EdgeChange } from '../../../../shared/src/tasks.js';
import { stepFailure, WorkflowHarness, type StepCall } from '../../tasks/testing/workflow-harness.js';
import { renameWorkflow } from '../tasks/rename.workflow.js';
import { VERIFY_MAKES_POOL } from '../tasks/site-steps.js';
import { verifyWorkflow } from '../tasks/site.workflows.js';
import { shown } from '../tasks/testing/calls.js';
import { MemorySiteRegistry, PLATFORMS, sitePlace } from '../tasks/testing/memory-site-registry.js';
import type { CertificateDependencies, OrderTicket } from './certificates.js';
import { certificateWorkflow, edgeWorkflow, type EdgeWorkflowDependencies } from './edge.workflows.js';
import type { CertificateRecord } from './site-edges.repository.js';

const POOL = { user: 'berth-site-200001', uid: 200_001, settings: {} };

/** The CA in memory: it lists what it was asked, and refuses a validation when told to. */
class MemoryCa {
  readonly asked: string[] = [];
  refuse: string | undefined;
  openOrder(names: string[]): Promise<OrderTicket> {
    this.asked.push(`order ${names.join(',')}`);
    return Promise.resolve({
      names,
      challenges: names.map((name, index) => ({
        name,
        token: `token${index}-aaaaaaaaaaaaaaaa`,
        keyAuthorization: `token${index}-aaaaaaaaaaaaaaaa.thumbprintbbbbbbbbbbbb`,
      })),
    });
  }
  validate(ticket: OrderTicket): Promise<void> {
    this.asked.push(`validate ${ticket.names.join(',')}`);
    return this.refuse ? Promise.reject(new Error(this.refuse)) : Promise.resolve();
  }
  finish(ticket: OrderTicket): Promise<{ certificatePem: string; notAfter: string }> {
    this.asked.push(`finish ${ticket.names.join(',')}`);
    return Promise.resolve({
      certificatePem: '-----BEGIN CERTIFICATE-----\n',
      notAfter: '2027-03-01T00:00:00.000Z',
    });
  }
}

function edgeOf(overrides: Partial<SiteEdge> = {}): SiteEdge {
  return { aliases: [], redirects: [], https: null, pool: POOL, ...overrides };
}

function setUp(edge: SiteEdge) {
  const site = { ...sitePlace({ domain: 'a.example' }), edge };
  const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
  const ca = new MemoryCa();
  const certificates: CertificateRecord[] = [];
  const deps: EdgeWorkflowDependencies = Object.assign(registry, {
    acme: ca,
    certificates: {
      of: () => Promise.resolve(structuredClone(certificates)),
      record: (certificate: CertificateRecord) => {
        certificates.push(certificate);
        return Promise.resolve();
      },
      forget: (_siteId: string, keep: readonly string[]) => {
        certificates.splice(
          0,
          certificates.length,
          ...certificates.filter((row) => keep.includes(row.serverId)),
        );
        return Promise.resolve();
      },
      upload: () => Promise.resolve(null),
    } satisfies CertificateDependencies['certificates'],
  });
  return { site, registry, ca, certificates, deps };
}

function change(
  edge: SiteEdge,
  params: EdgeChange,
  fail?: (call: StepCall) => ReturnType<typeof stepFailure> | undefined,
) {
  const set = setUp(edge);
  const harness = new WorkflowHarness(edgeWorkflow(set.deps), {
    type: 'site.edge',
    params: { change: params },
    targetId: set.site.siteId,
    targetName: set.site.domain,
    fail,
  });
  return { ...set, harness };
}

const vhosts = (calls: StepCall[]) =>
  calls.filter((call) => call.step === 'http.write-vhost').map((call) => call.params);

describe('site.edge workflow', () => {
  it('adds a served name: trusted by its settings, in its vhost, recorded last', async () => {
    const { harness, registry, site } = change(edgeOf(), {
      kind: 'alias-add',
      name: 'www.a.example',
      redirect: false,
    });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    const settings = trace.calls.find((call) => call.step === 'site.write-settings')!;
    expect(settings.params.trustedHosts).toEqual(['a.example', 'www.a.example']);
    // Its pool is written with its settings, before them.
    expect(shown(trace.calls).slice(0, 2)).toEqual([
      'php.write-pool web1 domain=a.example',
      expect.stringMatching(/^site\.write-settings web1 domain=a\.example/),
    ]);
    expect(vhosts(trace.calls)).toEqual([
      { domain: 'a.example', platform: 'd102', aliases: ['www.a.example'] },
    ]);
    expect(registry.writes.at(-1)).toBe(`edges.setEdge ${site.siteId} www.a.example`);
  });

  it('adds a redirected name: never trusted by Drupal, answered by nginx', async () => {
    const { harness } = change(edgeOf(), { kind: 'alias-add', name: 'old.example', redirect: true });
    const trace = await harness.run();
    expect(trace.calls.find((call) => call.step === 'site.write-settings')!.params.trustedHosts).toEqual([
      'a.example',
    ]);
    expect(vhosts(trace.calls)).toEqual([
      { domain: 'a.example', platform: 'd102', redirectFrom: ['old.example'] },
    ]);
  });

  it('turns HTTPS on: a key and request made on the server, challenges answered there, the certificate installed, the vhost again', async () => {
    const { harness, ca, certificates } = change(edgeOf({ aliases: ['www.a.example'] }), {
      kind: 'https',
      https: { mode: 'letsencrypt', redirect: true, hsts: false },
    });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(ca.asked).toEqual([
      'order a.example,www.a.example',
      'validate a.example,www.a.example',
      'finish a.example,www.a.example',
    ]);
    const order = shown(trace.calls).filter((line) => /^(tls|http)\./.test(line));
    expect(order).toEqual([
      'http.write-vhost web1 domain=a.example platform=d102',
      'tls.put-challenge web1 domain=a.example',
      'tls.put-challenge web1 domain=a.example',
      'tls.remove-challenge web1 domain=a.example',
      'tls.remove-challenge web1 domain=a.example',
      'tls.request web1 domain=a.example',
      'tls.install web1 domain=a.example',
      'http.write-vhost web1 domain=a.example platform=d102',
    ]);
    expect(vhosts(trace.calls).at(-1)).toMatchObject({ https: { redirect: true, hsts: false } });
    expect(certificates).toHaveLength(1);
  });

  it('when the CA refuses a challenge, withdraws the challenges and puts the vhost back as it was', async () => {
    const set = change(edgeOf(), {
      kind: 'https',
      https: { mode: 'letsencrypt', redirect: false, hsts: false },
    });
    set.ca.refuse = 'the CA refused the HTTP-01 challenge for a.example: 404';
    const trace = await set.harness.run();
    expect(trace.state).toBe('failed');
    const lines = shown(trace.calls);
    expect(lines).toContain('tls.remove-challenge web1 domain=a.example');
    expect(lines).not.toContain('tls.install web1 domain=a.example');
    // The undo: the edge the site had (no https).
    expect(vhosts(trace.calls).at(-1)).toEqual({ domain: 'a.example', platform: 'd102' });
    expect(set.registry.writes.some((write) => write.startsWith('edges.setEdge'))).toBe(false);
  });

  it('refuses a change the edge does not allow, before any step', async () => {
    const { harness } = change(edgeOf(), { kind: 'alias-remove', name: 'nope.example' });
    const trace = await harness.run();
    expect(trace.state).toBe('failed');
    expect(trace.calls).toEqual([]);
  });

  it('renews on every server of the site, for every name it has now', async () => {
    const set = setUp(
      edgeOf({ redirects: ['old.example'], https: { mode: 'letsencrypt', redirect: false, hsts: false } }),
    );
    const harness = new WorkflowHarness(certificateWorkflow(set.deps), {
      type: 'site.certificate',
      params: { reason: 'renewal' },
      targetId: set.site.siteId,
      targetName: set.site.domain,
    });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(set.ca.asked[0]).toBe('order a.example,old.example');
    expect(set.certificates.map((row) => row.serverId)).toEqual(['web1']);
  });
});

describe('rename keeps the edge', () => {
  it("serves the site's aliases under the new name and keeps the old one as a redirect in the registry", async () => {
    const set = setUp(edgeOf({ aliases: ['www.a.example'], redirects: ['older.example'] }));
    const harness = new WorkflowHarness(renameWorkflow(set.registry), {
      type: 'site.rename',
      params: {
        from: 'a.example',
        domain: 'new.example',
        archiveId: 'r1',
        filesArchiveId: 'r2',
        redirect: true,
      },
      targetId: set.site.siteId,
      targetName: set.site.domain,
    });
    const trace = await harness.run();
    expect(trace.state).toBe('succeeded');
    expect(vhosts(trace.calls)).toEqual([
      {
        domain: 'new.example',
        platform: 'd102',
        aliases: ['www.a.example'],
        redirectFrom: ['older.example', 'a.example'],
      },
    ]);
    expect(set.registry.siteRows.get(set.site.siteId)?.edge?.redirects).toEqual([
      'older.example',
      'a.example',
    ]);
  });
});

describe('verify gives a site from before pools its own', () => {
  it('from version 2: a uid from the registry, recorded at once, the pool before the settings, the vhost again', async () => {
    const site = sitePlace({ domain: 'old.example' });
    const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
    const trace = await new WorkflowHarness(verifyWorkflow(registry), {
      type: 'site.verify',
      params: {},
      targetId: site.siteId,
      targetName: site.domain,
      version: VERIFY_MAKES_POOL,
    }).run();
    expect(trace.state).toBe('succeeded');
    expect(shown(trace.calls).slice(0, 3)).toEqual([
      'php.write-pool web1 domain=old.example',
      expect.stringMatching(/^site\.write-settings web1 domain=old\.example/),
      'http.write-vhost web1 domain=old.example platform=d102',
    ]);
    expect(trace.calls[0]!.params).toMatchObject({ user: 'berth-site-200001', uid: 200_001 });
    expect(registry.siteRows.get(site.siteId)?.edge?.pool?.uid).toBe(200_001);
  });

  it('version 1 (a task from before) asks for the same steps as before', async () => {
    const site = sitePlace({ domain: 'old.example' });
    const registry = new MemorySiteRegistry({ platforms: Object.values(PLATFORMS), sites: [site] });
    const trace = await new WorkflowHarness(verifyWorkflow(registry), {
      type: 'site.verify',
      params: {},
      targetId: site.siteId,
      targetName: site.domain,
    }).run();
    expect(shown(trace.calls).some((line) => line.startsWith('php.write-pool'))).toBe(false);
    expect(registry.count('edges.')).toBe(0);
  });
});
