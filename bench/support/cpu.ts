import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** Clock ticks per second of /proc/<pid>/stat's times. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The PostgreSQL backends serving a database (the master's pool), by pid. */
export async function postgresBackends(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

/**
 * The CPU the given processes used during `ms`, in percent of one core (100 = one core busy);
 * processes that come or go meanwhile count for the part they were seen in both samples.
 */
export async function cpuPercent(pids: number[], ms: number): Promise<number> {
  const before = new Map(pids.map((pid) => [pid, cpuSecondsOf(pid)]));
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const seconds = (performance.now() - startedAt) / 1000;
  let used = 0;
  for (const [pid, start] of before) {
    const end = cpuSecondsOf(pid);
    if (start !== undefined && end !== undefined) used += end - start;
  }
  return Number(((used / seconds) * 100).toFixed(1));
}
