import type { PlatformEntity } from '../platforms/platform.entity.js';
import type { SiteEntity } from './site.entity.js';
import type { MigrateCandidate } from '../../../shared/src/api.js';

export type { MigrateCandidate };

/** Verified platforms other than the site's own, by name: where a migrate could take it. */
export function migrateCandidates(
  site: Pick<SiteEntity, 'platformId'>,
  platforms: ReadonlyArray<Pick<PlatformEntity, 'id' | 'name' | 'status' | 'coreVersion' | 'locked'>>,
): MigrateCandidate[] {
  return platforms
    .filter((platform) => platform.id !== site.platformId && platform.status === 'verified')
    .map((platform) => ({ name: platform.name, coreVersion: platform.coreVersion, locked: platform.locked }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
