import { chmod, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { warning } from '../../../../shared/src/log-lines.js';
import { must, validatePlatformName } from '../../../../shared/src/validation.js';
import { ensureDir, pathKind } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { MANIFEST_FORMAT, packManifest, packSiteDirectory } from '../../adapters/site-archive.js';
import { asError, firstFailure } from '../../adapters/streams.js';
import { archiveIdValue, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { requireDirectory } from '../site/common.js';
import { extractFromStore } from '../site/extract.js';

/*
 * A platform copied from one head of a cluster to another (cluster sync), through the master's
 * store. The archive is in the site archives' format (adapters/site-archive.ts), the manifest
 * naming the platform: the same checks on every entry both ways (no link that leaves the tree, no
 * device, no "..", files created exclusively), so that a copy is as safe to extract as a backup.
 */

function platformArchiveParams(input: unknown) {
  return parseWith(input, ['platform', 'archiveId'], [], (params) => ({
    platform: must(validatePlatformName('platform', params.platform)),
    archiveId: archiveIdValue('archiveId', params.archiveId),
  }));
}

/**
 * Streams `<root>/platforms/<platform>` into the store. Left out: the sites' links in
 * `web/sites/` (each head makes its own) and anything a restore would refuse (named in the log).
 */
export const platformArchive: StepHandler<'platform.archive'> = {
  name: 'platform.archive',
  parseParams: platformArchiveParams,
  async run({ platform, archiveId }, context) {
    const dir = new HostLayout(context.host.root).platformDir(platform);
    await requireDirectory(dir, 'the platform');
    const pack = tarPack();
    const gzip = createGzip();
    pack.pipe(gzip);
    let siteLinks = 0;
    const produce = async () => {
      const files = await packSiteDirectory(pack, dir, {
        onSkip: (path, why) => {
          if (/^web\/sites\/[^/]+$/.test(path)) siteLinks += 1;
          else context.note(warning(`left out ${path}: ${why}`));
        },
      });
      await packManifest(pack, {
        format: MANIFEST_FORMAT,
        domain: platform,
        createdAt: new Date().toISOString(),
        files,
        database: null,
        skipped: [],
      });
      pack.finalize();
      return files;
    };
    const [files, upload] = await firstFailure([
      { run: produce(), onFailure: (error) => gzip.destroy(asError(error)) },
      {
        run: context.archives.putArchive({
          archiveId,
          ref: context.ref,
          source: gzip,
          signal: context.signal,
        }),
        onFailure: () => pack.destroy(),
      },
    ]);
    context.note(
      `archived platform ${platform}: ${files.entries} entries (${files.bytes} bytes), ${siteLinks} site links left out`,
    );
    return { sha256: upload.sha256, bytes: upload.size, files: files.entries };
  },
};

/**
 * Extracts a platform copied by platform.archive to `<root>/platforms/<platform>` (a cluster's head,
 * or another server under a new name: `from`), which must not exist yet: into a new directory beside it, every entry checked, then renamed into place. On any
 * failure nothing is left.
 */
export const platformExtract: StepHandler<'platform.extract'> = {
  name: 'platform.extract',
  parseParams: (input) =>
    parseWith(input, ['platform', 'archiveId'], ['from'], (params) => ({
      platform: must(validatePlatformName('platform', params.platform)),
      archiveId: archiveIdValue('archiveId', params.archiveId),
      ...(params.from !== undefined ? { from: must(validatePlatformName('from', params.from)) } : {}),
    })),
  async run({ platform, archiveId, from }, context) {
    const layout = new HostLayout(context.host.root);
    const target = layout.platformDir(platform);
    if ((await pathKind(target)) !== 'missing') {
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${target} exists already: a platform is copied only where there is none`,
        retryable: false,
      });
    }
    await ensureDir(layout.platformsDir, 0o755);
    const temp = await mkdtemp(join(layout.platformsDir, `.extract-${platform}-`));
    let placed = false;
    try {
      const result = await extractFromStore(context, archiveId, temp, () => {
        throw new StepError({
          code: StepErrorCode.UnsafeArchive,
          message: `archive ${archiveId} holds a database: it is not a platform`,
          retryable: false,
        });
      });
      // A copy under another name (build --from-platform) names the platform it was made of.
      if (result.manifest.domain !== (from ?? platform)) {
        throw new StepError({
          code: StepErrorCode.UnsafeArchive,
          message: `archive ${archiveId} is of ${result.manifest.domain}, not of platform ${from ?? platform}`,
          retryable: false,
        });
      }
      // mkdtemp makes it 0700: a platform is code every site's PHP user reads (its own pool).
      await chmod(temp, 0o755);
      await rename(temp, target);
      placed = true;
      context.note(
        `copied platform ${platform} into ${target}: ${result.files} files (${result.bytes} bytes)`,
      );
      return { files: result.files, bytes: result.bytes, path: target };
    } finally {
      if (!placed) await rm(temp, { recursive: true, force: true });
    }
  },
};
