import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/master-config.js';

/** Data directories this process has open, by lock file. */
const heldHere = new Set<string>();

/**
 * Keeps a second master off a data directory a running one uses: its embedded database (PGlite is
 * one process's files, two writers would corrupt them), its CA files and its uploads in flight. The
 * lock is a file naming the holder (pid and host); one whose process is gone (killed, a crash) is
 * taken over, which is also what lets a master started again take its name back at once
 * (MasterPresence). Returns the release.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'master.lock');
  const me = `${process.pid}@${hostname()}`;
  if (heldHere.has(path)) throw refusal(dataDir, me);
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${me}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        if (holderOf(path) === me) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = holderOf(path);
      if (holder !== undefined && holder !== me && stillThere(holder)) throw refusal(dataDir, holder);
      // Left by a process that is gone: take it over.
      rmSync(path, { force: true });
    }
  }
  throw new ConfigError(`could not lock the data directory ${dataDir} (${path}); try again`);
}

function refusal(dataDir: string, holder: string): ConfigError {
  return new ConfigError(
    `another master (${holder}) uses the data directory ${dataDir}: stop it first. Several masters share ` +
      'one registry through PostgreSQL only (DATABASE_URL), each with a data directory and a BERTH_MASTER_ID of its own',
  );
}

/** "pid@host" as written, or undefined for a file that is not one. */
function holderOf(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d+@\S+$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder may still run: its process alive on this host; on another host (a data
 * directory on a shared file system) this one cannot tell, and assumes so.
 */
function stillThere(holder: string): boolean {
  const [pid, host] = holder.split('@') as [string, string];
  if (host !== hostname()) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
