import { describe, expect, it } from 'vitest';
import type { DispatchableAttempt } from '../tasks/attempts.repository.js';
import type { TaskEntity } from '../tasks/task.entity.js';
import type { SiteEntity } from './site.entity.js';
import { secretsSiteId, siteSecretResolver } from './site-secrets.js';

const attempt = (
  name: string,
  params: Record<string, unknown> = {},
  serverId = 'web1',
): DispatchableAttempt => ({
  attemptId: 'a1',
  stepId: 's1',
  taskId: 't1',
  serverId,
  epoch: '1',
  name,
  params,
  timeoutMs: 1000,
  createdAt: new Date(0),
});

function resolverFor(task: Partial<TaskEntity>) {
  const passwords: Record<string, string> = { source: 'enc:source-password', clone: 'enc:clone-password' };
  const site = (id: string) =>
    Promise.resolve(
      passwords[id]
        ? ({
            id,
            dbPasswordEncrypted: passwords[id],
            // The source reads its own repository with a key; the clone's has none.
            repositoryKeyEncrypted: id === 'source' ? 'enc:source-key' : null,
          } as unknown as SiteEntity)
        : null,
    );
  return siteSecretResolver(
    { findTask: () => Promise.resolve({ id: 't1', targetKind: 'site', params: {}, ...task } as TaskEntity) },
    {
      findById: site,
      // The sites by domain, and by database on db1, as the registry has them.
      findByDomainOrId: (domain: string) => site(domain.replace(/\.example$/, '')),
      findByDatabase: (server: string, database: string) =>
        server === 'db1' ? site(database.replace(/_db$/, '')) : Promise.resolve(null),
    },
    { decrypt: (text: string) => text.replace(/^enc:/, '') },
  );
}

describe('secretsSiteId', () => {
  it("is the task's target unless its params name another site", () => {
    expect(secretsSiteId({ targetId: 'source', params: {} })).toBe('source');
    expect(secretsSiteId({ targetId: 'source', params: { secretsFrom: 'clone' } })).toBe('clone');
    expect(secretsSiteId({ targetId: 'source', params: { secretsFrom: 7 } })).toBe('source');
  });
});

describe('siteSecretResolver', () => {
  it("sends the target site's password to db.create and site.write-settings only", async () => {
    const resolve = resolverFor({ targetId: 'source' });
    expect(await resolve(attempt('db.create'))).toEqual({ dbPassword: 'source-password' });
    expect(await resolve(attempt('site.write-settings'))).toEqual({ dbPassword: 'source-password' });
    expect(await resolve(attempt('site.archive'))).toEqual({});
  });

  it('sends the password of the site named in secretsFrom (a clone creating its own database)', async () => {
    const resolve = resolverFor({ targetId: 'source', params: { secretsFrom: 'clone' } });
    expect(await resolve(attempt('db.create'))).toEqual({ dbPassword: 'clone-password' });
  });

  it("sends a head's sync the password of the site each step names: its domain, or its database on that db server", async () => {
    const resolve = resolverFor({ targetKind: 'cluster', type: 'cluster.sync-head', targetId: 'front' });
    expect(await resolve(attempt('site.write-settings', { domain: 'clone.example' }))).toEqual({
      dbPassword: 'clone-password',
    });
    expect(await resolve(attempt('db.create', { database: 'source_db' }, 'db1'))).toEqual({
      dbPassword: 'source-password',
    });
    // The same database name on another server is another site's (none here).
    expect(await resolve(attempt('db.create', { database: 'source_db' }, 'db2'))).toEqual({});
    expect(await resolve(attempt('site.archive', { domain: 'source.example' }))).toEqual({});
  });

  it("sends the target site's repository key to site.code-fetch only, and nothing when it has none", async () => {
    const resolve = resolverFor({ targetId: 'source' });
    expect(await resolve(attempt('site.code-fetch', { domain: 'source.example', ref: 'main' }))).toEqual({
      deployKey: 'source-key',
    });
    expect(await resolve(attempt('site.code-checkout'))).toEqual({});
    expect(await resolverFor({ targetId: 'clone' })(attempt('site.code-fetch'))).toEqual({});
    expect(
      await resolverFor({ targetKind: 'platform', targetId: 'source' })(attempt('site.code-fetch')),
    ).toEqual({});
  });

  it('sends nothing for a task on a server, or for a site no longer in the registry', async () => {
    expect(await resolverFor({ targetKind: 'server', targetId: 'source' })(attempt('db.create'))).toEqual({});
    expect(await resolverFor({ targetId: 'gone' })(attempt('db.create'))).toEqual({});
  });
});
