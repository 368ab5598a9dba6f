import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { PlatformSource } from '../../../shared/src/platform-source.js';
import type { StepContext } from '../steps/step.js';
import { pathKind } from './files.js';

/** Builds take minutes on a large codebase; an hour is a build that hangs. */
const BUILD_TIMEOUT_MS = 3600_000;
/**
 * Config that no repository's own .git/config can turn into a command: no hooks, no fsmonitor
 * (both run programs), and the directory trusted although the agent's user may not own it (a site
 * directory restored from a backup). Given on the command line, which git reads last.
 */
const SAFE_GIT_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'safe.directory=*',
];
/** Transports git may use: never ext:: or fd:: (they run commands). */
const GIT_PROTOCOLS = 'https:http:ssh:git:file';

/**
 * Git and Composer as a platform build runs them: argv arrays, a minimal environment of their own
 * (a scratch HOME and COMPOSER_HOME per run, nothing inherited), no prompt ever, the deploy key in a
 * 0600 file that only this run sees and that is removed after, the output in the task's log.
 */
export class CodebaseTools {
  private constructor(
    private readonly context: Pick<StepContext, 'exec' | 'note'>,
    /** Scratch HOME, COMPOSER_HOME and the deploy key file; removed by close(). */
    private readonly scratch: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  /**
   * Opens the tools for one step. `knownHosts`: where SSH keeps the hosts it met (first use is
   * trusted, then a changed key is refused), kept across builds.
   */
  static async open(
    context: Pick<StepContext, 'exec' | 'note'>,
    options: { tmpDir: string; deployKey?: string; knownHosts: string },
  ): Promise<CodebaseTools> {
    const scratch = await mkdtemp(join(options.tmpDir, 'build-'));
    const env: Record<string, string> = {
      HOME: scratch,
      COMPOSER_HOME: join(scratch, 'composer'),
      COMPOSER_ALLOW_SUPERUSER: '1',
      COMPOSER_NO_INTERACTION: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ALLOW_PROTOCOL: GIT_PROTOCOLS,
      GIT_CONFIG_NOSYSTEM: '1',
    };
    if (options.deployKey) {
      const keyFile = join(scratch, 'deploy-key');
      // A key must end with a newline or ssh refuses it.
      await writeFile(
        keyFile,
        options.deployKey.endsWith('\n') ? options.deployKey : `${options.deployKey}\n`,
        {
          mode: 0o600,
          flag: 'wx',
        },
      );
      env.GIT_SSH_COMMAND = [
        'ssh',
        `-i ${keyFile}`,
        '-o IdentitiesOnly=yes',
        '-o BatchMode=yes',
        '-o StrictHostKeyChecking=accept-new',
        `-o UserKnownHostsFile=${options.knownHosts}`,
      ].join(' ');
    }
    return new CodebaseTools(context, scratch, env);
  }

  async close(): Promise<void> {
    await rm(this.scratch, { recursive: true, force: true });
  }

  /** Clones `url` into `dir` (which must not exist) and checks `ref` out detached; returns the commit. */
  async clone(url: string, ref: string, dir: string): Promise<string> {
    await this.git(['clone', '--no-checkout', '--progress', '--', url, dir], '/');
    const commit = await this.resolve(dir, ref);
    await this.git(['checkout', '--quiet', '--detach', commit], dir);
    return commit;
  }

  /** Fetches from the checkout's origin and checks `ref` out detached; returns the new commit. */
  async pull(dir: string, ref: string): Promise<string> {
    await this.git(['fetch', '--tags', '--prune', '--progress', 'origin'], dir);
    const commit = await this.resolve(dir, ref);
    await this.git(['checkout', '--quiet', '--detach', commit], dir);
    return commit;
  }

  /** The commit a checkout is at. */
  async head(dir: string): Promise<string> {
    return (await this.git(['rev-parse', 'HEAD'], dir, true)).trim();
  }

  /** `git log --first-parent from..to`, newest first, at most `limit`. */
  async commitsBetween(
    dir: string,
    from: string,
    to: string,
    limit: number,
  ): Promise<Array<{ sha: string; subject: string }>> {
    const text = await this.git(
      ['log', '--first-parent', `--max-count=${limit}`, '--format=%H%x09%s', `${from}..${to}`, '--'],
      dir,
      true,
    );
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const tab = line.indexOf('\t');
        return { sha: line.slice(0, tab), subject: line.slice(tab + 1) };
      });
  }

  /** `composer create-project` of a package at a version into `dir` (which must not exist). */
  async createProject(
    source: Extract<PlatformSource, { kind: 'composer-project' }>,
    dir: string,
  ): Promise<void> {
    const repository = source.repository
      ? [
          `--repository=${JSON.stringify({ type: 'composer', url: source.repository })}`,
          '--repository={"packagist.org":false}',
        ]
      : [];
    await this.composer(
      [
        'create-project',
        '--no-dev',
        '--no-interaction',
        '--no-progress',
        ...repository,
        '--',
        source.package,
        dir,
        source.version,
      ],
      this.scratch,
    );
  }

  /** `composer install --no-dev` in a tree that has a composer.json; false when it has none. */
  async composerInstall(dir: string): Promise<boolean> {
    if ((await pathKind(join(dir, 'composer.json'))) !== 'file') return false;
    await this.composer(
      ['install', '--no-dev', '--no-interaction', '--no-progress', '--optimize-autoloader'],
      dir,
    );
    return true;
  }

  /**
   * A site directory made a repository whose origin is `url` (`git init`; it holds the site's
   * settings and files already, which the checkout leaves alone). Nothing checked out yet.
   */
  async initRepository(dir: string, url: string): Promise<void> {
    await this.git(['init', '--quiet'], dir);
    await this.git(['remote', 'add', 'origin', url], dir);
  }

  /**
   * A bare repository at `dir` (which must not exist) whose main branch has one commit: `files`
   * (path → content), committed in a scratch work tree as Berth.
   */
  async createRepository(dir: string, files: Record<string, string>, message: string): Promise<void> {
    const work = join(this.scratch, 'work');
    await this.git(['init', '--quiet', '--bare', '--initial-branch=main', dir], '/');
    await this.git(['init', '--quiet', '--initial-branch=main', work], '/');
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
    }
    await this.git(['add', '--all'], work);
    await this.git(
      ['-c', 'user.name=Berth', '-c', 'user.email=berth@localhost', 'commit', '--quiet', '-m', message],
      work,
    );
    await this.git(['push', '--quiet', dir, 'main'], work);
  }

  /** Fetches the origin's branches and tags, and returns the commit `ref` names there. */
  async fetch(dir: string, ref: string): Promise<string> {
    await this.git(['fetch', '--tags', '--prune', '--progress', 'origin'], dir);
    return this.resolve(dir, ref);
  }

  /** The commit a checkout is at; null for a repository where nothing was checked out yet. */
  headOrNull(dir: string): Promise<string | null> {
    return this.commitOf(dir, 'HEAD');
  }

  /** Every path a commit tracks (files and links), relative to the tree's top. */
  async trackedPaths(dir: string, commit: string): Promise<string[]> {
    const listed = await this.git(['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit], dir, true);
    return listed.split('\0').filter(Boolean);
  }

  /**
   * The working tree moved to `commit` (which the repository has), detached: tracked files as the
   * commit has them, the ones it no longer tracks removed, untracked ones (settings, files) left.
   */
  async checkout(dir: string, commit: string): Promise<void> {
    await this.git(['checkout', '--quiet', '--force', '--detach', commit], dir);
  }

  /** The commit `ref` names in a checkout: a commit or tag as it is, a branch as its origin's. */
  private async resolve(dir: string, ref: string): Promise<string> {
    for (const candidate of [`origin/${ref}`, ref]) {
      const commit = await this.commitOf(dir, candidate);
      if (commit) return commit;
    }
    throw new StepError({
      code: StepErrorCode.NotFound,
      message: `the repository has no branch, tag or commit "${ref}"`,
      retryable: false,
    });
  }

  /** The commit `rev` names in the repository at `dir`, or null when it names none. */
  private async commitOf(dir: string, rev: string): Promise<string | null> {
    const found = await this.context.exec({
      file: 'git',
      args: [...SAFE_GIT_CONFIG, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`],
      cwd: dir,
      env: this.env,
      captureStdoutBytes: 4096,
      logStdout: false,
      okExitCodes: [1],
      debianPackage: 'git',
    });
    return found.exitCode === 0 && found.stdout.trim() ? found.stdout.trim() : null;
  }

  private async git(args: string[], cwd: string, capture = false): Promise<string> {
    const result = await this.context.exec({
      file: 'git',
      args: [...SAFE_GIT_CONFIG, ...args],
      cwd,
      env: this.env,
      timeoutMs: BUILD_TIMEOUT_MS,
      debianPackage: 'git',
      ...(capture ? { captureStdoutBytes: 1024 * 1024, logStdout: false } : {}),
    });
    return result.stdout;
  }

  private async composer(args: string[], cwd: string): Promise<void> {
    await this.context.exec({
      file: 'composer',
      args,
      cwd,
      env: this.env,
      timeoutMs: BUILD_TIMEOUT_MS,
      debianPackage: 'composer',
    });
  }
}
