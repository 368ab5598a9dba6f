import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/master-config.js';
import { lockDataDir } from './data-dir-lock.js';

describe('lockDataDir', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-lock-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a second master on the same directory until the first lets go', () => {
    const release = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(ConfigError);
    expect(() => lockDataDir(dataDir)).toThrow(/uses the data directory .*DATABASE_URL/);
    release();
    expect(existsSync(join(dataDir, 'master.lock'))).toBe(false);
    lockDataDir(dataDir)();
  });

  it('refuses while another live process of this host holds it', () => {
    // pid 1 is always alive.
    writeFileSync(join(dataDir, 'master.lock'), `1@${hostname()}\n`);
    expect(() => lockDataDir(dataDir)).toThrow(new RegExp(`another master \\(1@${hostname()}\\)`));
  });

  it('refuses a holder on another host, which it cannot check', () => {
    writeFileSync(join(dataDir, 'master.lock'), '4242@elsewhere.example\n');
    expect(() => lockDataDir(dataDir)).toThrow(/4242@elsewhere\.example/);
  });

  it('takes over a lock left by a process that is gone', () => {
    const gone = spawnSync('true').pid;
    writeFileSync(join(dataDir, 'master.lock'), `${gone}@${hostname()}\n`);
    lockDataDir(dataDir)();
  });
});
