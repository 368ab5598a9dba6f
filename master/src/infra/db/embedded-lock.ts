import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/master-config.js';

/** Embedded registries this process has open, by lock file. */
const heldHere = new Set<string>();

/**
 * Keeps a second master from opening the embedded database (PGlite) a running one has open: PGlite
 * is one process's files, and two writers would corrupt them. The lock is a file with the holder's
 * pid; one whose process is gone (killed, a crash) is taken over. Returns the release.
 */
export function lockEmbeddedDatabase(dataDir: string): () => void {
  const path = join(dataDir, 'registry.lock');
  if (heldHere.has(path)) throw refusal(dataDir, process.pid);
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        if (holderOf(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = holderOf(path);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw refusal(dataDir, holder);
      // Left by a process that is gone: take it over.
      rmSync(path, { force: true });
    }
  }
  throw new ConfigError(`could not lock the embedded database in ${dataDir} (${path}); try again`);
}

function refusal(dataDir: string, pid: number): ConfigError {
  return new ConfigError(
    `another master (pid ${pid}) has the embedded database in ${dataDir} open: stop it first. ` +
      'Several masters share one registry through PostgreSQL only (DATABASE_URL, and a BERTH_MASTER_ID each)',
  );
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
