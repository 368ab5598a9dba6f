import { loadMasterConfig, type MasterFlags } from './infra/config/master-config.js';
import { createLogger } from './infra/logging/logger.js';
import { assembleMaster, type RunningMaster } from './master.js';

export type { RunningMaster } from './master.js';
export { ConfigError } from './infra/config/master-config.js';

/** Starts a master from CLI flags and the environment (`berth master start`). */
export async function startMaster(flags: MasterFlags = {}): Promise<RunningMaster> {
  const config = loadMasterConfig(flags);
  const logger = createLogger(config.logLevel, 'berth-master');
  return assembleMaster(config, logger);
}
