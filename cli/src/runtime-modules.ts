/**
 * The master and the agent, loaded only by `berth master start` and `berth agent start`, so that
 * `berth task list` never loads NestJS, TypeORM or gRPC. The shapes are declared here and the
 * modules cast to them: the CLI depends on these entry points, not on the code behind them.
 */
import type { MasterFlags } from '../../master/src/infra/config/master-config.js';

export interface RunningMaster {
  httpUrl: string;
  grpcPort: number;
  httpPort: number;
  /** Non-null only on the very first start of a master (its data directory was empty). */
  adminToken: string | null;
  database: 'postgres' | 'pglite';
  /** Settles, with why, when the master stops by itself (another process took its BERTH_MASTER_ID). */
  ended: Promise<string>;
  stop(): Promise<void>;
}

export interface MasterModule {
  startMaster: (flags: MasterFlags) => Promise<RunningMaster>;
}

export interface AgentStartOptions {
  master: string;
  token?: string;
  name?: string;
  dataDir: string;
  debugSteps?: boolean;
  slots?: number;
  timeZone?: string;
}

export interface RunningAgent {
  serverId: string;
  serverName: string;
  stop(): Promise<void>;
}

export interface AgentModule {
  startAgent: (options: AgentStartOptions) => Promise<RunningAgent>;
}

// Specifiers in variables: resolved at run time relative to this file (cli/src/ in the sources,
// dist/cli/src/ in the build), and not followed by the type checker, which lets the CLI build while
// the entry points are elsewhere in progress.
const MASTER_ENTRY = '../../master/src/main.js';
const AGENT_ENTRY = '../../agent/src/agent.js';

export async function loadMaster(): Promise<MasterModule> {
  const module = (await import(MASTER_ENTRY)) as Partial<MasterModule>;
  if (typeof module.startMaster !== 'function') {
    throw new Error(`${MASTER_ENTRY} does not export startMaster()`);
  }
  return module as MasterModule;
}

export async function loadAgent(): Promise<AgentModule> {
  const module = (await import(AGENT_ENTRY)) as Partial<AgentModule>;
  if (typeof module.startAgent !== 'function') {
    throw new Error(`${AGENT_ENTRY} does not export startAgent()`);
  }
  return module as AgentModule;
}
