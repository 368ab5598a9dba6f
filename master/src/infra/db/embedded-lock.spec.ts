import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/master-config.js';
import { lockEmbeddedDatabase } from './embedded-lock.js';

describe('lockEmbeddedDatabase', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-lock-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a second master on the same directory until the first lets go', () => {
    const release = lockEmbeddedDatabase(dataDir);
    expect(() => lockEmbeddedDatabase(dataDir)).toThrow(ConfigError);
    expect(() => lockEmbeddedDatabase(dataDir)).toThrow(/has the embedded database in .* open.*DATABASE_URL/);
    release();
    expect(existsSync(join(dataDir, 'registry.lock'))).toBe(false);
    lockEmbeddedDatabase(dataDir)();
  });

  it('refuses while another live process holds it', () => {
    // pid 1 is always alive.
    writeFileSync(join(dataDir, 'registry.lock'), '1\n');
    expect(() => lockEmbeddedDatabase(dataDir)).toThrow(/another master \(pid 1\)/);
  });

  it('takes over a lock left by a process that is gone', () => {
    const gone = spawnSync('true').pid;
    writeFileSync(join(dataDir, 'registry.lock'), `${gone}\n`);
    const release = lockEmbeddedDatabase(dataDir);
    release();
  });
});
