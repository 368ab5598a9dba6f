/**
 * The agent's fixed step vocabulary and each step's parameters and output. The master only ever
 * names a step from this list with parameters of its shape; the agent validates them again.
 */

export interface ServiceInfo {
  /** "http", "db", "php" or "tool". */
  kind: 'http' | 'db' | 'php' | 'tool';
  name: string;
  version: string;
  running: boolean;
  path: string;
}

export interface StepDefinitions {
  /** Detects the services this server offers (nginx, apache, php-fpm, MariaDB/MySQL, php, drush). */
  'server.probe': {
    params: Record<string, never>;
    output: { hostname: string; services: ServiceInfo[]; agentVersion: string; os: string };
  };
  /**
   * Checks the archive link: generates `bytes` of pseudo-random data, uploads it to the reserved
   * archive, downloads it back and compares sha256 at both ends.
   */
  'link.transfer-check': {
    params: { archiveId: string; bytes: number };
    output: { sha256: string; bytes: number; uploadMs: number; downloadMs: number };
  };
  /** Does nothing; measures dispatch latency. Only on agents started with debug steps enabled. */
  'debug.noop': {
    params: Record<string, never>;
    output: { at: number };
  };
  /** Runs `sleep` as a child process for `ms`; exercises leases and cancellation. Debug agents only. */
  'debug.sleep': {
    params: { ms: number };
    output: { sleptMs: number };
  };
}

export type StepName = keyof StepDefinitions;
export type StepParams<S extends StepName> = StepDefinitions[S]['params'];
export type StepOutput<S extends StepName> = StepDefinitions[S]['output'];

export const STEP_NAMES: readonly StepName[] = [
  'server.probe',
  'link.transfer-check',
  'debug.noop',
  'debug.sleep',
];

/** Steps that exist for tests and benchmarks; an agent runs them only when started with them enabled. */
export const DEBUG_STEP_NAMES: readonly StepName[] = ['debug.noop', 'debug.sleep'];

export function isStepName(name: string): name is StepName {
  return (STEP_NAMES as readonly string[]).includes(name);
}
