import { join } from 'node:path';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { AppStatus, PendingUpdate } from '../../../shared/src/steps.js';
import { ensureDir, pathKind } from '../adapters/files.js';
import { HostLayout } from '../adapters/layout.js';
import { sitePool } from '../adapters/site-pool.js';
import type { RunOptions, RunResult } from '../adapters/process-runner.js';
import type { HostSettings } from '../config.js';

export interface DrupalContext {
  readonly host: HostSettings;
  exec(options: Omit<RunOptions, 'signal' | 'onLine'>): Promise<RunResult>;
  note(text: string): void;
}

export interface InstallOptions {
  profile: string;
  siteName?: string;
  accountName?: string;
  accountMail?: string;
  siteMail?: string;
  locale?: string;
}

/** Installers print the generated admin password; it never reaches a log or an error. */
export function redactDrushOutput(text: string): string {
  return text.replace(/(password\s*:\s*)\S+/gi, '$1[redacted]');
}

const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** A scalar from drush's JSON as text; anything else (null, a list) as "". */
function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

/**
 * The `drupal` app driver: one site on one platform, driven through the platform's own drush
 * (`<platform>/vendor/bin/drush --root=<platform>/web --uri=<domain> ...`), with argv arrays only.
 * Drush finds the site directory as Drupal does (sites/<domain>, the link site.link makes) and its
 * database in the settings Berth wrote, so no credential is ever on its command line.
 */
export class DrupalSite {
  private readonly layout: HostLayout;

  constructor(
    private readonly context: DrupalContext,
    readonly platform: string,
    readonly domain: string,
  ) {
    this.layout = new HostLayout(context.host.root);
  }

  private get drush(): string {
    return join(this.layout.platformDir(this.platform), 'vendor', 'bin', 'drush');
  }

  /** Runs a drush command for this site; stdout captured (and kept out of the log when secret). */
  async run(
    args: readonly string[],
    options: { secretOutput?: boolean; timeoutMs?: number } = {},
  ): Promise<string> {
    if ((await pathKind(this.drush)) !== 'file') {
      throw new StepError({
        code: StepErrorCode.MissingDependency,
        message: `platform ${this.platform} has no ${this.drush}: add Drush to the platform (composer require drush/drush)`,
        retryable: false,
      });
    }
    // As the site's own user when it has a pool here, else as the web user: files Drupal writes
    // (css, twig cache) stay writable for its PHP-FPM pool.
    const pool = await sitePool(this.context.host, this.domain);
    const web = this.context.host.webUser;
    const runAs = pool ? { uid: pool.uid, gid: pool.gid } : web ? { uid: web.uid, gid: web.gid } : undefined;
    // Drush keeps a cache in $HOME; the agent's own home is not the web user's, and a site's user
    // has its own, inside its temporary directory (which only it may enter).
    await ensureDir(this.layout.tmpDir, 0o711);
    let home = join(this.layout.tmpDir, 'drush-home');
    if (pool) {
      const tmp = pool.tmpDir ?? this.layout.phpUserTmpDir(pool.user);
      await ensureDir(this.layout.phpTmpDir, 0o711);
      await ensureDir(tmp, 0o700, runAs);
      home = join(tmp, 'drush-home');
    }
    await ensureDir(home, 0o700, runAs);
    const result = await this.context.exec({
      file: this.drush,
      args: [`--root=${this.layout.platformDocroot(this.platform)}`, `--uri=${this.domain}`, ...args],
      cwd: this.layout.platformDir(this.platform),
      env: { HOME: home },
      ...(runAs ? { user: runAs } : {}),
      captureStdoutBytes: MAX_JSON_BYTES,
      logStdout: !options.secretOutput,
      redact: redactDrushOutput,
      timeoutMs: options.timeoutMs ?? 0,
      debianPackage: 'php-cli',
    });
    return result.stdout;
  }

  private async json<T>(args: readonly string[]): Promise<T | undefined> {
    const stdout = (await this.run([...args, '--format=json'])).trim();
    if (stdout === '') return undefined;
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new StepError({
        code: StepErrorCode.CommandFailed,
        message: `drush ${args[0] ?? ''} did not print JSON: ${JSON.stringify(stdout.slice(0, 200))}`,
        retryable: false,
      });
    }
  }

  /**
   * site:install into the site directory (--sites-subdir). Without --db-url: the settings already
   * hold the database. Without --account-pass: nobody needs the admin password, a login link is
   * how one gets in (the generated one is redacted from the log).
   */
  async install(options: InstallOptions): Promise<void> {
    await this.run(
      [
        'site:install',
        options.profile,
        `--sites-subdir=${this.domain}`,
        ...(options.siteName ? [`--site-name=${options.siteName}`] : []),
        ...(options.accountName ? [`--account-name=${options.accountName}`] : []),
        ...(options.accountMail ? [`--account-mail=${options.accountMail}`] : []),
        ...(options.siteMail ? [`--site-mail=${options.siteMail}`] : []),
        ...(options.locale ? [`--locale=${options.locale}`] : []),
        '--yes',
      ],
      { timeoutMs: 30 * 60_000 },
    );
  }

  async pendingUpdates(): Promise<PendingUpdate[]> {
    const data = await this.json<Record<string, Record<string, unknown>> | Record<string, unknown>[]>([
      'updatedb:status',
    ]);
    if (!data) return [];
    return Object.values(data).map((row) => ({
      module: text(row.module),
      updateId: text(row.update_id),
      description: text(row.description),
      type: text(row.type),
    }));
  }

  async update(): Promise<void> {
    await this.run(['updatedb', '--yes']);
  }

  async setMaintenance(on: boolean): Promise<void> {
    await this.run(['state:set', 'system.maintenance_mode', on ? '1' : '0', '--input-format=integer']);
  }

  /**
   * Read-only mode is the contrib module readonlymode (config readonlymode.settings:enabled).
   * Refused when the module is not installed: setting its config would refuse nothing, and a
   * migrate would go on believing that writes are held.
   */
  async setReadonly(on: boolean): Promise<void> {
    const packages = await this.packages();
    if (!packages.some((found) => found.name === 'readonlymode')) {
      throw new StepError({
        code: StepErrorCode.NotFound,
        message: `${this.domain} does not have the readonlymode module installed: read-only mode is not available (use maintenance mode)`,
        retryable: false,
      });
    }
    await this.run(['config:set', 'readonlymode.settings', 'enabled', on ? '1' : '0', '--yes']);
  }

  /** A one-time login link. It is a credential: kept out of the task log. */
  async loginLink(who: { uid?: number; name?: string }): Promise<string> {
    const args = ['user:login', '--no-browser'];
    if (who.name !== undefined) args.push(`--name=${who.name}`);
    else args.push(`--uid=${who.uid ?? 1}`);
    const link = (await this.run(args, { secretOutput: true })).trim();
    if (!/^https?:\/\/\S+$/.test(link)) {
      throw new StepError({
        code: StepErrorCode.CommandFailed,
        message: 'drush user:login did not print a link',
        retryable: false,
      });
    }
    return link;
  }

  async status(): Promise<AppStatus> {
    const raw = (await this.json<Record<string, unknown>>(['core:status'])) ?? {};
    // Drush leaves db-password out by default; should a version print it, it never leaves the agent.
    const safe = Object.fromEntries(Object.entries(raw).filter(([key]) => !/pass/i.test(key)));
    return {
      drupalVersion: text(safe['drupal-version']),
      dbStatus: text(safe['db-status']),
      bootstrap: text(safe.bootstrap),
      sitePath: text(safe.site),
      raw: safe,
    };
  }

  async cron(): Promise<void> {
    await this.run(['core:cron']);
  }

  /** The site's installed modules and themes (pm:list --status=enabled). */
  async packages(): Promise<{ name: string; type: string; version: string; status: string }[]> {
    const data =
      (await this.json<Record<string, Record<string, unknown>>>(['pm:list', '--status=enabled'])) ?? {};
    return Object.entries(data).map(([name, row]) => ({
      name: text(row.name) || name,
      type: text(row.type),
      version: text(row.version),
      status: text(row.status),
    }));
  }
}
