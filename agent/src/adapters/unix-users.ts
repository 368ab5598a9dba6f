import { readFile } from 'node:fs/promises';

/** A line of /etc/passwd. */
export interface UnixUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly comment: string;
}

/** A line of /etc/group. */
export interface UnixGroup {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/**
 * The comment (GECOS) of the users Berth makes for sites' pools: a user without it was made by
 * someone else, and Berth neither takes it over nor deletes it.
 */
export const SITE_USER_COMMENT = 'Berth site user';

/**
 * The local accounts, as useradd and groupadd see them (they check /etc/passwd and /etc/group,
 * not NSS), read again on every call: another step or an administrator may have changed them.
 */
export async function readUsers(path = '/etc/passwd'): Promise<UnixUser[]> {
  return (await lines(path)).flatMap((line) => {
    const [name, , uid, gid, comment] = line.split(':');
    return name && isId(uid) && isId(gid)
      ? [{ name, uid: Number(uid), gid: Number(gid), comment: comment ?? '' }]
      : [];
  });
}

export async function readGroups(path = '/etc/group'): Promise<UnixGroup[]> {
  return (await lines(path)).flatMap((line) => {
    const [name, , gid, members] = line.split(':');
    return name && isId(gid)
      ? [{ name, gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) }]
      : [];
  });
}

async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

function isId(value: string | undefined): value is string {
  return value !== undefined && /^\d{1,10}$/.test(value);
}
