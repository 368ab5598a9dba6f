import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  must,
  validateAbsolutePath,
  validateDatabaseName,
  validateDatabaseUser,
  validatePlatformName,
  ValidationError,
} from '../../../../shared/src/validation.js';
import { readHashSalt, renderCredentialsPhp, renderSettingsPhp } from '../../adapters/drupal-settings.js';
import { ensureDir, writeFileAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { siteOwners } from '../../adapters/site-pool.js';
import { syncTwinPool } from '../php/pool-files.js';
import { integerValue, invalidParam, listValue, parseWith, requireSecret } from '../params.js';
import type { StepHandler } from '../step.js';
import { dbHostValue, domainValue, requireDirectory, trustedHostValue } from './common.js';

const hashSaltPattern = /^[A-Za-z0-9_-]{32,128}$/;

function hashSaltValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || !hashSaltPattern.test(value)) {
    throw new ValidationError({
      field,
      message: `${field} must be 32-128 characters of A-Z, a-z, 0-9, "_" or "-"`,
    });
  }
  return value;
}

/**
 * Writes the site's settings.php and, outside the site directory, its credentials.php; creates
 * files/ and private/ (owned by the site's pool user, or the web user for a site in the shared
 * pool), except for a twin (`sameAs`), which uses the other site's, and runs as its user. Each
 * file is written beside and renamed into place, credentials first, so a request never sees a
 * settings.php that requires a missing file.
 */
export const siteWriteSettings: StepHandler<'site.write-settings'> = {
  name: 'site.write-settings',
  parseParams: (input) =>
    parseWith(
      input,
      ['domain', 'database', 'user', 'dbHost', 'dbPort', 'trustedHosts'],
      ['platformPath', 'platform', 'hashSalt', 'sameAs'],
      (params) => {
        if ((params.platformPath === undefined) === (params.platform === undefined)) {
          throw new ValidationError({
            field: 'platformPath',
            message: 'name the platform by platformPath or by platform (its name), one of them',
          });
        }
        const trustedHosts = listValue('trustedHosts', params.trustedHosts, 50, trustedHostValue);
        if (trustedHosts.length === 0) {
          throw new ValidationError({
            field: 'trustedHosts',
            message: 'trustedHosts needs at least the site domain',
          });
        }
        return {
          domain: domainValue('domain', params.domain),
          ...(params.platformPath !== undefined
            ? { platformPath: must(validateAbsolutePath('platformPath', params.platformPath)) }
            : { platform: must(validatePlatformName('platform', params.platform)) }),
          database: must(validateDatabaseName('database', params.database)),
          user: must(validateDatabaseUser('user', params.user)),
          dbHost: dbHostValue('dbHost', params.dbHost),
          dbPort: integerValue('dbPort', params.dbPort, 1, 65535),
          trustedHosts: [...new Set(trustedHosts)],
          ...(params.hashSalt !== undefined ? { hashSalt: hashSaltValue('hashSalt', params.hashSalt) } : {}),
          ...(params.sameAs !== undefined ? { sameAs: domainValue('sameAs', params.sameAs) } : {}),
        };
      },
    ),
  async run(params, context) {
    const password = requireSecret(context.secrets, 'dbPassword');
    const layout = new HostLayout(context.host.root);
    // By name: a head of a cluster finds the platform under its own root.
    const platform = params.platform ?? layout.platformOfPath(params.platformPath!);
    if (!platform) {
      throw invalidParam(
        `platformPath ${params.platformPath} is not a platform directory (${layout.platformsDir}/<platform>)`,
      );
    }
    await requireDirectory(layout.platformDir(platform), 'the platform');

    const siteDir = layout.siteDir(params.domain);
    const configDir = layout.siteConfigDir(params.domain);
    const settingsPath = join(siteDir, 'settings.php');
    // A twin's settings name the other site's directories and salt: only its credentials differ.
    const settingsOf = params.sameAs ?? params.domain;
    const pathsDir = layout.siteDir(settingsOf);
    if (params.sameAs) await requireDirectory(pathsDir, `the site directory of ${params.sameAs}`);
    const credentialsPath = join(configDir, 'credentials.php');
    // A twin runs as the user of the site it is a twin of, in a pool of its own (syncTwinPool).
    if (params.sameAs) await syncTwinPool(context, params.domain, params.sameAs);
    // The site's pool user writes files/ and private/ (or the web user, for a site in the shared
    // pool); root owns the code-like files, and the site's group (or the web user's) reads them.
    const owners = await siteOwners(context.host, params.domain);
    const writer = owners.writer;
    const readable = owners.reader;

    let hashSalt = params.hashSalt ?? context.secrets.hashSalt;
    let hashSaltSource: 'params' | 'kept' | 'generated' = 'params';
    if (hashSalt !== undefined) {
      if (!hashSaltPattern.test(hashSalt)) {
        throw invalidParam('the hashSalt secret must be 32-128 characters of A-Z, a-z, 0-9, "_" or "-"');
      }
    } else {
      hashSalt = readHashSalt(await readFile(join(pathsDir, 'settings.php'), 'utf8').catch(() => ''));
      hashSaltSource = 'kept';
    }
    if (hashSalt === undefined) {
      // As Drupal's installer does: 55 random bytes, base64url.
      hashSalt = randomBytes(55).toString('base64url');
      hashSaltSource = 'generated';
    }

    await ensureDir(layout.sitesDir, 0o755);
    await ensureDir(siteDir, owners.siteDir.mode, owners.siteDir.owner);
    if (!params.sameAs) {
      await ensureDir(join(siteDir, 'files'), 0o775, writer);
      await ensureDir(join(siteDir, 'private'), 0o770, writer);
      await ensureDir(join(siteDir, 'private', 'config'), 0o770, writer);
      await ensureDir(join(siteDir, 'private', 'config', 'sync'), 0o770, writer);
    }
    // Others may pass through config/sites (PHP reaches its own credentials) but not list it.
    await ensureDir(layout.siteConfigsDir, 0o711);
    await ensureDir(configDir, 0o750, readable);

    await writeFileAtomic(
      credentialsPath,
      renderCredentialsPhp({
        domain: params.domain,
        database: params.database,
        user: params.user,
        password,
        host: params.dbHost,
        port: params.dbPort,
      }),
      { mode: 0o640, owner: readable },
    );
    await writeFileAtomic(
      settingsPath,
      renderSettingsPhp({
        domain: settingsOf,
        siteDir: pathsDir,
        credentialsPath,
        hashSalt,
        trustedHosts: params.trustedHosts,
      }),
      // No secret in it but the hash salt: readable by the site's (or web) group, or by all without one.
      { mode: readable ? 0o440 : 0o444, owner: readable },
    );
    context.note(`wrote ${settingsPath} (hash salt ${hashSaltSource}) and ${credentialsPath}`);
    return { settingsPath, credentialsPath, hashSaltSource };
  },
};
