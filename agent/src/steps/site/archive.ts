import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pack as tarPack } from 'tar-stream';
import { warning } from '../../../../shared/src/log-lines.js';
import type { SiteArchiveManifest } from '../../../../shared/src/steps.js';
import { AdaptiveGzip } from '../../adapters/adaptive-gzip.js';
import { ensureDir } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { MariaDb, requireDatabase } from '../../adapters/mysql.js';
import {
  MANIFEST_FORMAT,
  packDatabase,
  packManifest,
  packPresent,
  packSiteDirectory,
} from '../../adapters/site-archive.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import { archiveIdValue, databaseRefOrNull, parseWith, timeValue } from '../params.js';
import type { StepHandler } from '../step.js';
import { asideValue } from './aside.js';
import { domainValue, requireDirectory } from './common.js';

/**
 * Streams a site archive into the master's store: tar (tar-stream) -> gzip -> upload, with
 * backpressure all the way, so neither the archive nor any file is ever held in memory.
 *
 * The database dump goes through a temp file (mode 0600, in <root>/tmp, removed at the end): a tar
 * header needs the entry's size before its content, and a dump's size is known only at its end.
 * The dump runs while the files are packed, so it costs no extra time unless it is the longer
 * part. (db.dump, which needs no tar header, streams without a temp file.)
 */
export const siteArchive: StepHandler<'site.archive'> = {
  name: 'site.archive',
  parseParams: (input) =>
    parseWith(input, ['domain', 'archiveId'], ['includeDatabase', 'changedSince', 'aside'], (params) => ({
      domain: domainValue('domain', params.domain),
      archiveId: archiveIdValue('archiveId', params.archiveId),
      includeDatabase: databaseRefOrNull('includeDatabase', params.includeDatabase),
      ...(params.changedSince !== undefined
        ? { changedSince: timeValue('changedSince', params.changedSince) }
        : {}),
      ...(params.aside !== undefined ? { aside: asideValue('aside', params.aside) } : {}),
    })),
  async run({ domain, archiveId, includeDatabase, changedSince, aside }, context) {
    const startedAt = new Date().toISOString();
    const layout = new HostLayout(context.host.root);
    // A restore's state before, set aside by site.extract, is archived as the site's.
    const siteDir = aside ? layout.asideDir(aside) : layout.siteDir(domain);
    await requireDirectory(siteDir, aside ? 'the set-aside site directory' : 'the site directory');
    const mariadb = new MariaDb(context);
    if (includeDatabase) await requireDatabase(mariadb, includeDatabase.database, 'nothing to dump');

    // 0711 as everywhere: the sites' own users pass through to their tmp/php/<user>/.
    await ensureDir(layout.tmpDir, 0o711);
    const dumpFile = join(layout.tmpDir, `${domain}.${randomBytes(6).toString('hex')}.sql`);
    const dumpOutput = includeDatabase
      ? createWriteStream(dumpFile, { flags: 'wx', mode: 0o600 })
      : undefined;
    // Started now, awaited once the files are in: both run at once.
    const dumped =
      includeDatabase && dumpOutput
        ? mariadb
            .dump(includeDatabase.database, dumpOutput)
            .then(
              () =>
                new Promise<void>((resolve, reject) =>
                  dumpOutput.end((error?: Error | null) => (error ? reject(error) : resolve())),
                ),
            )
        : undefined;
    dumped?.catch(() => undefined);

    const pack = tarPack();
    // A site's files are mostly images and PDFs: those are stored, not deflated again.
    const gzip = new AdaptiveGzip();
    pack.pipe(gzip);
    let archivedBytes = 0;
    const produce = async (): Promise<SiteArchiveManifest> => {
      context.note(
        `archiving ${changedSince ? `what changed in ${siteDir} since ${changedSince}` : siteDir}` +
          (includeDatabase ? ` and database ${includeDatabase.database}` : ''),
      );
      const skipped: Array<{ path: string; why: string }> = [];
      const present: string[] = [];
      const files = await packSiteDirectory(pack, siteDir, {
        ...(changedSince ? { changedSince: new Date(changedSince), present } : {}),
        onSkip: (path, why) => {
          skipped.push({ path, why });
          context.note(warning(`left out ${path}: ${why}`));
        },
        onFile: (bytes) => {
          archivedBytes += bytes;
          context.progress('files', archivedBytes, 0, 'bytes');
        },
      });
      let database: SiteArchiveManifest['database'] = null;
      if (includeDatabase && dumped) {
        await dumped;
        database = await packDatabase(pack, dumpFile, includeDatabase.database);
      }
      if (changedSince) await packPresent(pack, present);
      const manifest: SiteArchiveManifest = {
        format: MANIFEST_FORMAT,
        domain,
        createdAt: new Date().toISOString(),
        files,
        database,
        skipped,
        ...(changedSince ? { delta: { since: changedSince, present: present.length } } : {}),
      };
      await packManifest(pack, manifest);
      pack.finalize();
      return manifest;
    };

    try {
      const [manifest, upload] = await firstFailure([
        {
          run: produce(),
          // The upload must fail rather than store what was packed so far as a whole archive;
          // and a dump still running is stopped (its output closes).
          onFailure: (error) => {
            gzip.destroy(asError(error));
            dumpOutput?.destroy();
          },
        },
        {
          run: context.archives.putArchive({
            archiveId,
            ref: context.ref,
            source: gzip,
            signal: context.signal,
          }),
          onFailure: () => {
            pack.destroy();
            dumpOutput?.destroy();
          },
        },
      ]);
      context.note(
        `archived ${manifest.files.entries} entries (${manifest.files.bytes} bytes)` +
          (manifest.database ? ` and a ${manifest.database.bytes}-byte dump` : '') +
          `: ${upload.size} bytes gzipped, sha256 ${upload.sha256}`,
      );
      return { sha256: upload.sha256, bytes: upload.size, manifest, startedAt };
    } finally {
      if (dumped) await dumped.catch(() => undefined);
      await rm(dumpFile, { force: true });
    }
  },
};
