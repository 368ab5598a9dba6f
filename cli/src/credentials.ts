import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from './errors.js';

export const DEFAULT_MASTER_URL = 'http://127.0.0.1:7600';
const CREDENTIALS_FILE = 'credentials.json';

export interface Credentials {
  url?: string;
  token?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** $BERTH_CONFIG_DIR, else $XDG_CONFIG_HOME/berth, else ~/.config/berth. */
export function configDir(env: Env): string {
  if (env.BERTH_CONFIG_DIR) return env.BERTH_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'berth');
  return join(env.HOME ?? homedir(), '.config', 'berth');
}

export function credentialsPath(env: Env): string {
  return join(configDir(env), CREDENTIALS_FILE);
}

/** The saved credentials, or null when there are none. A broken file is an error, not "none". */
export async function readCredentials(env: Env): Promise<Credentials | null> {
  const path = credentialsPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`Cannot read ${path}: ${(error as Error).message}`, ExitCode.Usage);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; fix or remove it`, ExitCode.Usage);
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new CliError(`${path} must hold a JSON object with "url" and "token"`, ExitCode.Usage);
  }
  const { url, token } = parsed as Record<string, unknown>;
  return {
    url: typeof url === 'string' && url !== '' ? url : undefined,
    token: typeof token === 'string' && token !== '' ? token : undefined,
  };
}

/**
 * Saves the credentials readable by the owner only. The file is written beside and renamed into
 * place, created with mode 0600 so the token is never readable by others, not even for a moment.
 */
export async function writeCredentials(env: Env, credentials: Credentials): Promise<string> {
  const dir = configDir(env);
  const path = join(dir, CREDENTIALS_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  // The mode given to writeFile is filtered by the umask; make sure it is exactly 0600.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
  return path;
}

export interface Connection {
  url: string;
  token: string | undefined;
  urlSource: 'flag' | 'env' | 'file' | 'default';
  tokenSource: 'flag' | 'env' | 'file' | 'none';
  /** Set when a saved token was not used because it belongs to another master (this URL). */
  savedTokenSkippedFor?: string;
}

/**
 * Where the master is and how to authenticate: flags, then BERTH_URL/BERTH_TOKEN, then the file.
 * The saved token belongs to the saved URL: it is sent to that master only, never to another one
 * named by --url or BERTH_URL.
 */
export async function resolveConnection(
  flags: { url?: string; token?: string },
  env: Env,
): Promise<Connection> {
  const needFile = !(flags.url ?? env.BERTH_URL) || !(flags.token ?? env.BERTH_TOKEN);
  const file = needFile ? await readCredentials(env) : null;
  const [url, urlSource] = pick<Connection['urlSource']>([
    [flags.url, 'flag'],
    [env.BERTH_URL, 'env'],
    [file?.url, 'file'],
  ]) ?? [DEFAULT_MASTER_URL, 'default'];
  const savedTokenApplies = !file?.url || sameMaster(file.url, url);
  const [token, tokenSource] = pick<Connection['tokenSource']>([
    [flags.token, 'flag'],
    [env.BERTH_TOKEN, 'env'],
    [savedTokenApplies ? file?.token : undefined, 'file'],
  ]) ?? [undefined, 'none'];
  const connection: Connection = { url, token, urlSource, tokenSource };
  if (tokenSource === 'none' && file?.token && file.url) connection.savedTokenSkippedFor = file.url;
  return connection;
}

/** Same scheme, host and port (and path), ignoring a trailing slash and the host's case. */
function sameMaster(a: string, b: string): boolean {
  const normalise = (value: string): string => {
    try {
      const url = new URL(value);
      return url.origin + url.pathname.replace(/\/+$/, '');
    } catch {
      return value;
    }
  };
  return normalise(a) === normalise(b);
}

function pick<S>(candidates: [string | undefined, S][]): [string, S] | undefined {
  for (const [value, source] of candidates) {
    if (value !== undefined && value !== '') return [value, source];
  }
  return undefined;
}
