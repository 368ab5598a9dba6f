import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MASTER_URL,
  configDir,
  readCredentials,
  resolveConnection,
  writeCredentials,
} from './credentials.js';
import { CliError } from './errors.js';

describe('credentials', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives in BERTH_CONFIG_DIR, else XDG_CONFIG_HOME/berth, else ~/.config/berth', () => {
    expect(configDir({ BERTH_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/b', HOME: '/h' })).toBe('/a');
    expect(configDir({ XDG_CONFIG_HOME: '/b', HOME: '/h' })).toBe('/b/berth');
    expect(configDir({ HOME: '/h' })).toBe('/h/.config/berth');
  });

  it('is written readable by the owner only, even with a permissive umask', async () => {
    const env = { BERTH_CONFIG_DIR: join(dir, 'nested', 'berth') };
    const previous = process.umask(0o000);
    try {
      const path = await writeCredentials(env, { url: 'http://m:7600', token: 'secret' });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ url: 'http://m:7600', token: 'secret' });
    } finally {
      process.umask(previous);
    }
    expect(await readCredentials(env)).toEqual({ url: 'http://m:7600', token: 'secret' });
  });

  it('is none when the file does not exist, and an error when it is not JSON', async () => {
    const env = { BERTH_CONFIG_DIR: dir };
    expect(await readCredentials(env)).toBeNull();
    await writeFile(join(dir, 'credentials.json'), '{not json');
    await expect(readCredentials(env)).rejects.toThrow(CliError);
    await expect(readCredentials(env)).rejects.toThrow(/credentials.json is not valid JSON/);
  });

  describe('resolveConnection', () => {
    const withFile = async (): Promise<Record<string, string>> => {
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, 'credentials.json'),
        JSON.stringify({ url: 'http://file:1', token: 'file-token' }),
      );
      return { BERTH_CONFIG_DIR: dir };
    };

    it('takes flags first', async () => {
      const env = { ...(await withFile()), BERTH_URL: 'http://env:1', BERTH_TOKEN: 'env-token' };
      expect(await resolveConnection({ url: 'http://flag:1', token: 'flag-token' }, env)).toEqual({
        url: 'http://flag:1',
        token: 'flag-token',
        urlSource: 'flag',
        tokenSource: 'flag',
      });
    });

    it('then the environment', async () => {
      const env = { ...(await withFile()), BERTH_URL: 'http://env:1', BERTH_TOKEN: 'env-token' };
      expect(await resolveConnection({}, env)).toMatchObject({ url: 'http://env:1', token: 'env-token' });
    });

    it('then the file, the token only for the URL it was saved with', async () => {
      const env = await withFile();
      expect(await resolveConnection({}, env)).toEqual({
        url: 'http://file:1',
        token: 'file-token',
        urlSource: 'file',
        tokenSource: 'file',
      });
      expect(await resolveConnection({}, { ...env, BERTH_URL: 'http://FILE:1/' })).toMatchObject({
        token: 'file-token',
        tokenSource: 'file',
      });
      expect(await resolveConnection({ url: 'http://elsewhere:1' }, env)).toEqual({
        url: 'http://elsewhere:1',
        token: undefined,
        urlSource: 'flag',
        tokenSource: 'none',
        savedTokenSkippedFor: 'http://file:1',
      });
    });

    it('uses a saved token without a URL for any master', async () => {
      await writeFile(join(dir, 'credentials.json'), JSON.stringify({ token: 'bare-token' }));
      expect(await resolveConnection({ url: 'http://m:1' }, { BERTH_CONFIG_DIR: dir })).toMatchObject({
        token: 'bare-token',
        tokenSource: 'file',
      });
    });

    it('then the default URL and no token', async () => {
      expect(await resolveConnection({}, { BERTH_CONFIG_DIR: dir })).toEqual({
        url: DEFAULT_MASTER_URL,
        token: undefined,
        urlSource: 'default',
        tokenSource: 'none',
      });
    });

    it('treats empty values as unset', async () => {
      const env = { ...(await withFile()), BERTH_URL: '', BERTH_TOKEN: '' };
      expect(await resolveConnection({ url: '' }, env)).toMatchObject({
        url: 'http://file:1',
        token: 'file-token',
      });
    });
  });
});
