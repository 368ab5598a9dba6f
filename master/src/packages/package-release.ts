import type { PackageType } from './package.entity.js';

/** A package as a platform offers it or a site has it: what a scan or a site status reports. */
export interface PackageRelease {
  name: string;
  type: PackageType;
  version: string | null;
  schemaVersion: number;
  path: string | null;
  enabled?: boolean;
}

export interface PackageRow extends PackageRelease {
  title: string | null;
}
