import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMaster, type MasterHandle } from './processes.js';
import type { TestDatabase } from './test-database.js';

export interface MasterGroup {
  masters: MasterHandle[];
  /** The gRPC address of each, for agents given all of them. */
  grpcAddresses: string[];
  /** Starts one more master on the registry. */
  add(): Promise<MasterHandle>;
  stop(): Promise<void>;
}

/**
 * Several masters on one PostgreSQL, as an operator sets them up (README, "High availability"):
 * the first starts on an empty registry; each other gets a data directory of its own holding copies
 * of the first one's CA and secret key, and the same backup store (a symlink here, a shared file
 * system in production). Each runs as BERTH_MASTER_ID m1, m2 ...
 */
export async function startMasterGroup(
  database: TestDatabase,
  options: { count: number; label: string; env?: NodeJS.ProcessEnv },
): Promise<MasterGroup> {
  if (!database.url) throw new Error('several masters need PostgreSQL');
  const env = (id: string) => ({ ...options.env, BERTH_MASTER_ID: id });
  const dirs: string[] = [];
  const masters: MasterHandle[] = [];
  const stop = async () => {
    for (const master of masters) await master.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const add = async (): Promise<MasterHandle> => {
    const n = masters.length + 1;
    const first = masters[0];
    if (!first) {
      const started = await startMaster(database, { label: `${options.label}-m1`, env: env('m1') });
      masters.push(started);
      return started;
    }
    const dataDir = mkdtempSync(join(tmpdir(), `berth-master-m${n}-`));
    dirs.push(dataDir);
    mkdirSync(join(dataDir, 'pki'), { mode: 0o700 });
    for (const file of ['pki/ca.crt', 'pki/ca.key', 'secret.key']) {
      copyFileSync(join(first.dataDir, file), join(dataDir, file));
    }
    symlinkSync(join(first.dataDir, 'store'), join(dataDir, 'store'));
    const started = await startMaster(database, {
      label: `${options.label}-m${n}`,
      env: env(`m${n}`),
      dataDir,
      adminToken: first.token,
    });
    masters.push(started);
    return started;
  };
  try {
    for (let n = 1; n <= options.count; n++) await add();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    masters,
    get grpcAddresses() {
      return masters.map((master) => master.grpcAddress);
    },
    add,
    stop,
  };
}
