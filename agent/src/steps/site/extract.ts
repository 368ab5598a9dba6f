import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { ensureDir, pathKind, replaceDirectory } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { siteOwners } from '../../adapters/site-pool.js';
import { MariaDb, requireDatabase } from '../../adapters/mysql.js';
import { extractSiteArchive, mergeDelta, type ExtractResult } from '../../adapters/site-archive.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import { archiveIdValue, booleanValue, databaseRefOrNull, invalidParam, parseWith } from '../params.js';
import type { StepContext, StepHandler } from '../step.js';
import { asideValue } from './aside.js';
import { domainValue } from './common.js';
import { chownTree, ownSiteDirectory } from './ownership.js';

/**
 * Restores a site archive: download -> gunzip -> tar entries, each checked before it is written
 * (adapters/site-archive.ts), into a new directory beside the target; database.sql streamed into
 * `importDatabase` on the way; the manifest checked; then the new directory swapped in (the old one
 * renamed away, the new one renamed in, the old one removed). When anything is refused or fails,
 * the new directory is removed and the target is as it was.
 *
 * The target's own settings.php, if it has one, is carried into the new directory: archives never
 * hold one, and keeping it keeps the site's hash salt and database settings until
 * site.write-settings rewrites them.
 *
 * A delta (`delta`, from site.archive with changedSince) is extracted the same safe way into its
 * own new directory, then merged into the existing site directory (mergeDelta).
 */
export const siteExtract: StepHandler<'site.extract'> = {
  name: 'site.extract',
  parseParams: (input) =>
    parseWith(
      input,
      ['domain', 'archiveId'],
      ['importDatabase', 'targetDomain', 'delta', 'onlyFiles', 'setAsideAs'],
      (params) => ({
        domain: domainValue('domain', params.domain),
        archiveId: archiveIdValue('archiveId', params.archiveId),
        importDatabase: databaseRefOrNull('importDatabase', params.importDatabase),
        ...(params.targetDomain !== undefined
          ? { targetDomain: domainValue('targetDomain', params.targetDomain) }
          : {}),
        ...(params.delta !== undefined ? { delta: booleanValue('delta', params.delta) } : {}),
        ...(params.onlyFiles !== undefined ? { onlyFiles: booleanValue('onlyFiles', params.onlyFiles) } : {}),
        ...(params.setAsideAs !== undefined
          ? { setAsideAs: asideValue('setAsideAs', params.setAsideAs) }
          : {}),
      }),
    ),
  async run(
    { domain, archiveId, targetDomain, importDatabase, delta = false, onlyFiles = false, setAsideAs },
    context,
  ) {
    const layout = new HostLayout(context.host.root);
    const target = layout.siteDir(targetDomain ?? domain);
    const mariadb = new MariaDb(context);
    if (importDatabase)
      await requireDatabase(mariadb, importDatabase.database, 'create it first (db.create)');
    const targetKind = await pathKind(target);
    if (targetKind !== 'missing' && targetKind !== 'directory') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${target} is a ${targetKind}, not a site directory: not replaced`,
        retryable: false,
      });
    }
    const setAside = setAsideAs === undefined ? undefined : layout.asideDir(setAsideAs);
    if (setAside && (delta || onlyFiles))
      throw invalidParam('setAsideAs goes with a whole site directory only, not a delta nor onlyFiles');
    if (setAside && (await pathKind(setAside)) !== 'missing') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${setAside} exists: a site directory is never set aside over another`,
        retryable: false,
      });
    }
    if ((delta || onlyFiles) && targetKind !== 'directory') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: onlyFiles
          ? `${target} does not exist: files are synced only into an existing site`
          : `${target} does not exist: a delta is merged into the copy it was taken against`,
        retryable: false,
      });
    }

    await ensureDir(layout.sitesDir, 0o755);
    const temp = await mkdtemp(join(layout.sitesDir, `.extract-${targetDomain ?? domain}-`));
    let swapped = false;
    try {
      let databaseImported = false;
      const result = await extractFromStore(context, archiveId, temp, async (content) => {
        if (!importDatabase) {
          context.note('the archive holds a database; not imported (no importDatabase)');
          content.resume();
          await new Promise((resolve) => content.once('end', resolve));
          return;
        }
        context.note(`importing database.sql into ${importDatabase.database}`);
        await mariadb.import(importDatabase.database, content);
        databaseImported = true;
      });
      if (result.manifest.domain !== domain) {
        throw new StepError({
          code: StepErrorCode.UnsafeArchive,
          message: `archive ${archiveId} is of ${result.manifest.domain}, not of ${domain}`,
          retryable: false,
        });
      }
      if (importDatabase && !databaseImported) {
        throw new StepError({
          code: StepErrorCode.NotFound,
          message: `archive ${archiveId} holds no database to import into ${importDatabase.database}`,
          retryable: false,
        });
      }

      if (Boolean(result.present) !== delta) {
        throw new StepError({
          code: StepErrorCode.UnsafeArchive,
          message: delta
            ? `archive ${archiveId} is a full archive, not a delta`
            : `archive ${archiveId} is a delta: it restores only into the copy it was taken against`,
          retryable: false,
        });
      }

      // The site's pool user (or the web user, for a site in the shared pool) owns what PHP writes.
      const owners = await siteOwners(context.host, targetDomain ?? domain);
      if (owners.writer) await chownTree(temp, ['files', 'private'], owners.writer);
      if (result.present) {
        const merged = await mergeDelta(temp, target, new Set(result.present));
        context.note(
          `merged ${result.files} changed files (${result.bytes} bytes) into ${target}, removed ${merged.removed} paths`,
        );
        return { files: result.files, bytes: result.bytes, databaseImported, manifest: result.manifest };
      }
      if (onlyFiles) {
        // Another environment's uploads: its files/ in place of the target's, nothing else touched.
        const fresh = join(temp, 'files');
        if ((await pathKind(fresh)) !== 'directory') await ensureDir(fresh, 0o755);
        const targetFiles = join(target, 'files');
        await chmod(fresh, 0o755);
        await replaceDirectory(fresh, targetFiles, (await pathKind(targetFiles)) === 'directory');
        context.note(
          `replaced ${targetFiles} with the archive's files/ (${result.files} files in the archive)`,
        );
        return { files: result.files, bytes: result.bytes, databaseImported, manifest: result.manifest };
      }
      if (targetKind === 'directory') {
        await copyFile(join(target, 'settings.php'), join(temp, 'settings.php')).catch(
          (error: NodeJS.ErrnoException) => {
            if (error.code !== 'ENOENT') throw error;
          },
        );
      }
      await ownSiteDirectory(temp, owners, { writable: false });
      await replaceDirectory(temp, target, targetKind === 'directory', setAside);
      swapped = true;
      if (setAside && targetKind === 'directory')
        context.note(`set the site directory before aside: ${setAside}`);
      context.note(`restored ${result.files} files (${result.bytes} bytes) into ${target}`);
      return { files: result.files, bytes: result.bytes, databaseImported, manifest: result.manifest };
    } finally {
      if (!swapped) await rm(temp, { recursive: true, force: true });
    }
  },
};

/**
 * Downloads an archive of the store and extracts it into `temp` as it arrives (download -> gunzip
 * -> tar entries, each checked by extractSiteArchive); database.sql goes to `onDatabase`. A
 * failure on either side stops the other.
 */
export async function extractFromStore(
  context: StepContext,
  archiveId: string,
  temp: string,
  onDatabase: (content: Readable) => Promise<void>,
): Promise<ExtractResult> {
  const gunzip = createGunzip();
  const extract = tarExtract();
  // Errors surface through the download and the entries; destroy both ends on any of them.
  pipeline(gunzip, extract, () => undefined);
  const [, result] = await firstFailure([
    {
      run: context.archives.getArchive({
        archiveId,
        ref: context.ref,
        destination: gunzip,
        signal: context.signal,
        // The download of an archive of known size is the measure of the whole extraction (the
        // files are unpacked as it arrives): one phase with a total, so a follower gets an ETA.
        onProgress: (bytes, total) => context.progress('download', bytes, total, 'bytes'),
      }),
      onFailure: (error) => extract.destroy(asError(error)),
    },
    {
      run: extractSiteArchive(extract, temp, {
        onDatabase,
        onSkip: (path, why) => context.note(`skipped ${path}: ${why}`),
      }),
      onFailure: (error) => gunzip.destroy(asError(error)),
    },
  ]);
  return result;
}
