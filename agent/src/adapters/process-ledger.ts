import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A step process group as recorded: its leader's pid (= the group id) and the leader's start time. */
interface LedgerEntry {
  pid: number;
  startTime: string;
  command: string;
}

/**
 * The process groups of running steps, one small file each under <data dir>/running/. Steps run
 * detached (their own process group), so an agent killed with -9 leaves them running; a restarted
 * agent reads what is left here and kills those groups before it says hello to the master, so that
 * no orphaned `drush updatedb` can change a database the master has since rolled back.
 */
export class ProcessLedger {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  record(pid: number, command: string): void {
    const startTime = processStartTime(pid);
    if (startTime === undefined) return;
    const entry: LedgerEntry = { pid, startTime, command };
    writeFileSync(join(this.dir, String(pid)), JSON.stringify(entry), { mode: 0o600 });
  }

  forget(pid: number): void {
    rmSync(join(this.dir, String(pid)), { force: true });
  }

  /** Kills the groups a previous run of the agent left behind; returns what it killed. */
  reapLeftovers(): string[] {
    const killed: string[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      try {
        const entry = JSON.parse(readFileSync(path, 'utf8')) as LedgerEntry;
        const leaderStart = processStartTime(entry.pid);
        // A live process with that pid but another start time is a stranger that reused the pid:
        // leave it. Without a leader, the group id cannot have been reused while members remain.
        if (leaderStart === undefined || leaderStart === entry.startTime) {
          try {
            process.kill(-entry.pid, 'SIGKILL');
            killed.push(`${entry.command} (process group ${entry.pid})`);
          } catch {
            // ESRCH: the group is gone already.
          }
        }
      } catch {
        // An unreadable entry is dropped below.
      }
      rmSync(path, { force: true });
    }
    return killed;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
