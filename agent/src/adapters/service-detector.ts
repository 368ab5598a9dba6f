import { constants } from 'node:fs';
import { access, readFile, readdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ServiceInfo } from '../../../shared/src/steps.js';
import { StepError } from '../../../shared/src/errors.js';
import type { CommandRunner } from './process-runner.js';

/** One kind of service the agent looks for. */
interface ServiceSpec {
  kind: ServiceInfo['kind'];
  name: string;
  /** Program names to look for; a RegExp matches several (php-fpm8.2, php-fpm8.3 ...). */
  programs: readonly string[] | RegExp;
  versionArgs: readonly string[];
  /** Process names (/proc/<pid>/comm) that mean it is running; none for tools. */
  daemon: boolean;
}

const SPECS: readonly ServiceSpec[] = [
  { kind: 'http', name: 'nginx', programs: ['nginx'], versionArgs: ['-v'], daemon: true },
  { kind: 'http', name: 'apache2', programs: ['apache2'], versionArgs: ['-v'], daemon: true },
  { kind: 'php', name: 'php-fpm', programs: /^php-fpm(\d+(\.\d+)*)?$/, versionArgs: ['-v'], daemon: true },
  { kind: 'db', name: 'mariadb', programs: ['mariadbd'], versionArgs: ['--version'], daemon: true },
  { kind: 'db', name: 'mysql', programs: ['mysqld'], versionArgs: ['--version'], daemon: true },
  { kind: 'php', name: 'php', programs: ['php'], versionArgs: ['-v'], daemon: false },
  { kind: 'tool', name: 'drush', programs: ['drush'], versionArgs: ['--version'], daemon: false },
];

const ANY_EXIT_CODE: readonly number[] = Array.from({ length: 255 }, (_, index) => index + 1);

export const DEFAULT_SEARCH_DIRS: readonly string[] = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

export interface ServiceDetectorOptions {
  runner: CommandRunner;
  searchDirs?: readonly string[];
  /** Where the process table is (a fake one in tests). */
  procRoot?: string;
  /** Per version command; detection must stay fast. */
  versionTimeoutMs?: number;
}

/** The detection as steps and the hello use it. */
export interface ServiceSource {
  /** The last detection, or a first one. */
  cached(): Promise<ServiceInfo[]>;
  /** A fresh detection, which becomes the cached one. */
  detect(): Promise<ServiceInfo[]>;
}

/**
 * Finds the services this server offers, their versions and whether they run. Never fails:
 * a missing or broken service is simply absent or has an empty version.
 */
export class ServiceDetector implements ServiceSource {
  private last: Promise<ServiceInfo[]> | undefined;
  private readonly searchDirs: readonly string[];
  private readonly procRoot: string;
  private readonly versionTimeoutMs: number;

  constructor(private readonly options: ServiceDetectorOptions) {
    this.searchDirs = options.searchDirs ?? DEFAULT_SEARCH_DIRS;
    this.procRoot = options.procRoot ?? '/proc';
    this.versionTimeoutMs = options.versionTimeoutMs ?? 900;
  }

  /** The last detection (for the hello of a reconnect), or a first one. */
  cached(): Promise<ServiceInfo[]> {
    this.last ??= this.detect();
    return this.last;
  }

  /** Detects again (server.probe) and caches the answer. */
  detect(): Promise<ServiceInfo[]> {
    const detection = this.detectNow();
    this.last = detection;
    return detection;
  }

  private async detectNow(): Promise<ServiceInfo[]> {
    const [running, found] = await Promise.all([this.runningProgramNames(), this.findPrograms()]);
    const services = await Promise.all(
      found.map(async ({ spec, path, program }) => ({
        kind: spec.kind,
        name: spec.name,
        version: parseVersion(spec.name, await this.versionOutput(path, spec.versionArgs)),
        running: spec.daemon && isRunning(program, running),
        path,
      })),
    );
    return services;
  }

  private async findPrograms(): Promise<{ spec: ServiceSpec; path: string; program: string }[]> {
    const entries = await Promise.all(
      this.searchDirs.map(async (dir) => ({ dir, names: await listDir(dir) })),
    );
    const seen = new Set<string>();
    const found: { spec: ServiceSpec; path: string; program: string }[] = [];
    for (const spec of SPECS) {
      for (const { dir, names } of entries) {
        const matching = names
          .filter((name) =>
            spec.programs instanceof RegExp ? spec.programs.test(name) : spec.programs.includes(name),
          )
          .sort();
        for (const name of matching) {
          const path = join(dir, name);
          const real = await executableRealPath(path);
          // On Debian mysqld is a link to mariadbd, and /sbin is /usr/sbin: report each program once.
          if (!real || seen.has(real)) continue;
          seen.add(real);
          found.push({ spec: resolveAlias(spec, real), path, program: name });
        }
      }
    }
    return found;
  }

  private async versionOutput(path: string, args: readonly string[]): Promise<string> {
    try {
      const result = await this.options.runner.run({
        file: path,
        args,
        timeoutMs: this.versionTimeoutMs,
        killGraceMs: 200,
        captureStdoutBytes: 64 * 1024,
        // Some programs print their version and exit non-zero; the banner is what counts.
        okExitCodes: ANY_EXIT_CODE,
      });
      return `${result.stdout}\n${result.stderrTail}`;
    } catch (error) {
      // Hung (timeout) or not runnable: no version, but the program is still reported.
      return error instanceof StepError ? (error.stderrTail ?? '') : '';
    }
  }

  private async runningProgramNames(): Promise<Set<string>> {
    const names = new Set<string>();
    const pids = (await listDir(this.procRoot)).filter((entry) => /^\d+$/.test(entry));
    await Promise.all(
      pids.map(async (pid) => {
        try {
          names.add((await readFile(join(this.procRoot, pid, 'comm'), 'utf8')).trim());
        } catch {
          // The process ended while we looked.
        }
      }),
    );
    return names;
  }
}

/** mysqld that is really mariadbd (Debian's compatibility link) is MariaDB. */
function resolveAlias(spec: ServiceSpec, realPath: string): ServiceSpec {
  if (spec.name === 'mysql' && basename(realPath).startsWith('mariadb')) {
    return SPECS.find((candidate) => candidate.name === 'mariadb') ?? spec;
  }
  return spec;
}

/** The kernel keeps 15 characters of a process name in comm. */
export function isRunning(program: string, runningNames: ReadonlySet<string>): boolean {
  const comm = program.slice(0, 15);
  if (runningNames.has(comm)) return true;
  // mariadbd started as mysqld (or the reverse) through the compatibility link.
  if (program === 'mariadbd' || program === 'mysqld') {
    return runningNames.has('mariadbd') || runningNames.has('mysqld');
  }
  return false;
}

/** Pulls a dotted version number out of a program's version banner; "" when there is none. */
export function parseVersion(service: string, output: string): string {
  const patterns: Record<string, RegExp> = {
    nginx: /nginx\/(\d+(?:\.\d+)+)/,
    apache2: /Apache\/(\d+(?:\.\d+)+)/,
    'php-fpm': /PHP (\d+(?:\.\d+)+)/,
    php: /PHP (\d+(?:\.\d+)+)/,
    mariadb: /Ver (\d+(?:\.\d+)+)/,
    mysql: /Ver (\d+(?:\.\d+)+)/,
  };
  const match = (patterns[service] ?? /(\d+\.\d+(?:\.\d+)*)/).exec(output);
  return match?.[1] ?? '';
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function executableRealPath(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.X_OK);
    return await realpath(path);
  } catch {
    return undefined;
  }
}
