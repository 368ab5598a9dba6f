import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepErrorCode } from '../../../shared/src/errors.js';
import { stepFailure, testContext, testRoot } from '../testing/step-context.js';
import { PhpFpm, socketAnswers } from './php-fpm.js';

/** Debian names the binary after the PHP version (php-fpm8.2); the newest one wins. */
function phpFpmBinary(): string {
  const found = readdirSync('/usr/sbin')
    .filter((name) => /^php-fpm\d+\.\d+$/.test(name))
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    .map((name) => join('/usr/sbin', name))
    .find((path) => existsSync(path));
  if (!found) throw new Error('php-fpm is not installed: bash ops/web-services.sh --packages-only');
  return found;
}

async function pidOf(pidFile: string): Promise<number> {
  return Number((await readFile(pidFile, 'utf8')).trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A reload of a PHP-FPM that daemonized itself, as ops/web-services.sh starts the system's where
 * there is no systemd (the quick start's): its master executes itself again with --daemonize and
 * forks, so the master after the reload has another pid. The agent must follow it through the pid
 * file, not take the old pid's end for a failed reload (the quick start's demo install failed so).
 */
describe('PhpFpm.reload of a daemonized master', () => {
  let dir: string;
  let root: Awaited<ReturnType<typeof testRoot>>;
  let conf: string;
  const binary = phpFpmBinary();
  const asRoot = process.getuid?.() === 0;

  const configuration = (poolLine = '') => `[global]
pid = ${join(dir, 'php-fpm.pid')}
error_log = ${join(dir, 'php-fpm.log')}
daemonize = yes

[reload-test]
${asRoot ? 'user = root\ngroup = root' : ''}
listen = ${join(dir, 'pool.sock')}
listen.mode = 0600
pm = static
pm.max_children = 1
${poolLine}
`;
  const fpm = () => new PhpFpm(testContext({ ...root.host, phpFpmConf: conf, phpFpmBinary: binary }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-fpm-'));
    root = await testRoot();
    conf = join(dir, 'php-fpm.conf');
    await writeFile(conf, configuration());
    // --daemonize returns once the master has forked away and written its pid file.
    await execa(binary, ['--daemonize', '--fpm-config', conf, ...(asRoot ? ['-R'] : [])]);
    for (let tries = 0; !(await socketAnswers(join(dir, 'pool.sock'))); tries++) {
      if (tries > 200)
        throw new Error(`PHP-FPM did not start:\n${await readFile(join(dir, 'php-fpm.log'), 'utf8')}`);
      await sleep(25);
    }
  });

  afterAll(async () => {
    const pidFile = join(dir, 'php-fpm.pid');
    const pid = existsSync(pidFile) ? await pidOf(pidFile) : 0;
    if (pid > 0 && alive(pid)) {
      process.kill(pid, 'SIGQUIT');
      for (let tries = 0; alive(pid) && tries < 200; tries++) await sleep(25);
    }
    await rm(dir, { recursive: true, force: true });
    await root?.remove();
  });

  it('follows the new master through the pid file, its pool answering', async () => {
    const before = await pidOf(join(dir, 'php-fpm.pid'));
    await fpm().reload({ answers: [join(dir, 'pool.sock')] });
    const after = await pidOf(join(dir, 'php-fpm.pid'));
    expect(after).not.toBe(before);
    expect(alive(after)).toBe(true);
    expect(await socketAnswers(join(dir, 'pool.sock'))).toBe(true);
  });

  it('still says PHP-FPM stopped when the reloaded master could not start', async () => {
    // Written past php-fpm -t, as a hand edit would be: the new master cannot read it and exits.
    await writeFile(conf, configuration('pm.max_children = lots'));
    const failure = await stepFailure(fpm().reload());
    expect(failure.code).toBe(StepErrorCode.ConfigRejected);
    expect(failure.message).toMatch(/PHP-FPM stopped while it reloaded/);
  });
});
