import { hostname as osHostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { validateHostname } from '../../shared/src/validation.js';
import { AgentError, AgentErrorCode } from './errors.js';
import { type EnrollmentToken, parseEnrollmentToken } from './link/enrollment-token.js';

/** What the CLI (`berth agent start`) passes to startAgent. */
export interface AgentOptions {
  /** The master's gRPC address, HOST:PORT (an IPv6 host in brackets: [::1]:7601). */
  master: string;
  /** The enrollment token from `berth server add`; only needed the first time. */
  token?: string;
  /** The name this server reports (hello, CSR, enrollment); defaults to the OS hostname. */
  name?: string;
  /** Where the agent keeps its key, certificates and identity. */
  dataDir: string;
  /** Offer the debug.* steps (tests and benchmarks). */
  debugSteps?: boolean;
  /** How many steps the master may run here at once. */
  slots?: number;
  log?: Logger;
}

/** The agent's configuration, validated once at start and frozen. */
export interface AgentConfig {
  /** HOST:PORT as dialled (brackets kept for IPv6). */
  readonly masterAddress: string;
  /** The host part, without brackets: it must be in the master certificate's SANs. */
  readonly masterHost: string;
  readonly masterPort: number;
  readonly token: EnrollmentToken | undefined;
  readonly hostname: string;
  readonly dataDir: string;
  readonly debugSteps: boolean;
  readonly slots: number;
}

const MAX_SLOTS = 64;

export function loadAgentConfig(options: AgentOptions): AgentConfig {
  const { host, port } = parseMasterAddress(options.master);
  const dataDir = options.dataDir?.trim();
  if (!dataDir) {
    throw invalid('a data directory is required (--data-dir), e.g. /var/lib/berth/agent');
  }
  const name = options.name?.trim();
  let hostname: string;
  if (name) {
    const checked = validateHostname('--name', name);
    if (!checked.ok) throw invalid(checked.failure.message);
    hostname = checked.value;
  } else {
    hostname = osHostname();
  }
  const slots = options.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) {
    throw invalid(`slots must be a whole number from 1 to ${MAX_SLOTS}, got ${String(slots)}`);
  }
  const token = options.token?.trim() ? parseEnrollmentToken(options.token) : undefined;
  return Object.freeze({
    masterAddress: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    masterHost: host,
    masterPort: port,
    token,
    hostname,
    dataDir: isAbsolute(dataDir) ? resolve(dataDir) : resolve(process.cwd(), dataDir),
    debugSteps: options.debugSteps ?? false,
    slots,
  });
}

/** Splits HOST:PORT; accepts DNS names, IPv4 and bracketed IPv6. */
export function parseMasterAddress(input: string | undefined): { host: string; port: number } {
  const value = (input ?? '').trim();
  if (!value)
    throw invalid('the master address is required (--master HOST:PORT), e.g. master.example.com:7601');
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(value);
  if (!match) {
    throw invalid(
      `the master address "${value}" is not HOST:PORT (e.g. master.example.com:7601, 10.0.0.5:7601, [::1]:7601)`,
    );
  }
  const host = (match[1] ?? match[2] ?? '').toLowerCase();
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw invalid(`the master port ${port} is not between 1 and 65535`);
  return { host, port };
}

function invalid(message: string): AgentError {
  return new AgentError(AgentErrorCode.ConfigInvalid, message);
}
