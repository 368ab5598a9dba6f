import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { must, validatePlatformName } from '../../../../shared/src/validation.js';
import { HostLayout } from '../../adapters/layout.js';
import { platformContent } from '../../adapters/platform-content.js';
import { composerVersions, coreVersionOf, scanPackages } from '../../adapters/platform-scan.js';
import { parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { requireDirectory } from '../site/common.js';

/**
 * A static scan of a platform: core's VERSION, then every module, theme and profile with its
 * version (Composer's installed.json where the platform has one, else its .info.yml), schema
 * version (highest hook_update_N or last removed one) and post-updates. No PHP runs, so a platform can be verified
 * before anything is served from it. Core itself is a package too (name `drupal`, type `core`).
 */
export const platformScan: StepHandler<'platform.scan'> = {
  name: 'platform.scan',
  parseParams: (input) =>
    parseWith(input, ['platform'], [], (params) => ({
      platform: must(validatePlatformName('platform', params.platform)),
    })),
  async run({ platform }, context) {
    const layout = new HostLayout(context.host.root);
    await requireDirectory(layout.platformDir(platform), 'the platform');
    const docroot = layout.platformDocroot(platform);
    const drupalPhp = join(docroot, 'core', 'lib', 'Drupal.php');
    const coreVersion = coreVersionOf(await readFile(drupalPhp, 'utf8').catch(() => ''));
    if (!coreVersion) {
      throw new StepError({
        code: StepErrorCode.NotFound,
        message: `platform ${platform} has no Drupal core: ${drupalPhp} is missing or has no VERSION (a Composer layout with the docroot in web/ is expected)`,
        retryable: false,
      });
    }
    const platformDir = layout.platformDir(platform);
    const installedJson = await readFile(
      join(platformDir, 'vendor', 'composer', 'installed.json'),
      'utf8',
    ).catch(() => undefined);
    const composer = installedJson ? composerVersions(installedJson, platformDir, docroot) : [];
    const packages = await scanPackages(docroot, coreVersion, composer);
    const content = await platformContent(platformDir);
    context.note(
      `platform ${platform}: Drupal ${coreVersion}, ${packages.length} packages; ` +
        `${content.files} files, ${content.bytes} bytes, sha256 ${content.sha256}`,
    );
    return {
      coreVersion,
      content,
      packages: [
        {
          name: 'drupal',
          type: 'core',
          version: coreVersion,
          schemaVersion: 0,
          lastRemovedSchema: 0,
          postUpdates: [],
          removedPostUpdates: [],
          path: 'core',
        },
        ...packages,
      ],
    };
  },
};
