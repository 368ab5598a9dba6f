import type { PackageType } from './package.entity.js';

/** A package as a platform offers it or a site has it: what a scan or a site status reports. */
export interface PackageRelease {
  name: string;
  type: PackageType;
  version: string | null;
  schemaVersion: number;
  /** hook_update_last_removed() (platforms; 0: none). */
  lastRemovedSchema?: number;
  /** A platform's post-update functions, or those a site ran (null: unknown). */
  postUpdates?: string[] | null;
  /** A platform's removed post-updates. */
  removedPostUpdates?: string[];
  path: string | null;
  enabled?: boolean;
}

export interface PackageRow extends PackageRelease {
  title: string | null;
  lastRemovedSchema: number;
  postUpdates: string[] | null;
  removedPostUpdates: string[];
}
