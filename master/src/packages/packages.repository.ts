import type { DataSource, EntityManager } from 'typeorm';
import { sqlRows } from '../infra/db/sql.js';
import type { PackageType } from './package.entity.js';
import type { PackageRelease, PackageRow } from './package-release.js';

/** Packages by machine name and type, and their releases per platform and per site. */
export class PackagesRepository {
  constructor(private readonly db: DataSource) {}

  /** Replaces what a platform (or a site) offers with the given list, in one transaction. */
  async replace(
    owner: { platformId: string } | { siteId: string },
    releases: PackageRelease[],
  ): Promise<void> {
    const [column, ownerId] =
      'platformId' in owner ? ['platform_id', owner.platformId] : ['site_id', owner.siteId];
    await this.db.transaction(async (manager) => {
      await sqlRows(manager, `DELETE FROM package_instances WHERE ${column} = $1 RETURNING id`, [ownerId]);
      for (const release of releases) {
        const packageId = await this.packageId(manager, release.name, release.type);
        await sqlRows(
          manager,
          `INSERT INTO package_instances (package_id, ${column}, version, schema_version, path, enabled,
                                          last_removed_schema, post_updates, removed_post_updates)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
          [
            packageId,
            ownerId,
            release.version,
            release.schemaVersion,
            release.path,
            release.enabled ?? true,
            release.lastRemovedSchema ?? 0,
            release.postUpdates ? JSON.stringify(release.postUpdates) : null,
            JSON.stringify(release.removedPostUpdates ?? []),
          ],
        );
      }
    });
  }

  list(owner: { platformId: string } | { siteId: string }): Promise<PackageRow[]> {
    const [column, ownerId] =
      'platformId' in owner ? ['platform_id', owner.platformId] : ['site_id', owner.siteId];
    return sqlRows<PackageRow>(
      this.db,
      `SELECT p.name, p.type, p.title, i.version, i.schema_version AS "schemaVersion", i.path, i.enabled,
              i.last_removed_schema AS "lastRemovedSchema", i.post_updates AS "postUpdates",
              i.removed_post_updates AS "removedPostUpdates"
         FROM package_instances i JOIN packages p ON p.id = i.package_id
        WHERE i.${column} = $1 ORDER BY p.type, p.name`,
      [ownerId],
    );
  }

  private async packageId(manager: EntityManager, name: string, type: PackageType): Promise<string> {
    const [row] = await sqlRows<{ id: string }>(
      manager,
      `INSERT INTO packages (name, type) VALUES ($1, $2)
       ON CONFLICT (name, type) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [name, type],
    );
    return row!.id;
  }
}
