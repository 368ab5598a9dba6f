import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, parseMasterAddress } from './config.js';
import { AgentError, AgentErrorCode } from './errors.js';

const token = `BERTH1.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

function configError(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected an AgentError');
}

describe('loadAgentConfig', () => {
  it('gives a frozen config with defaults', () => {
    const config = loadAgentConfig({ master: 'master.example.org:7601', dataDir: '/var/lib/berth/agent' });
    expect(config).toMatchObject({
      masterAddress: 'master.example.org:7601',
      masterHost: 'master.example.org',
      masterPort: 7601,
      token: undefined,
      dataDir: '/var/lib/berth/agent',
      debugSteps: false,
      slots: 1,
    });
    expect(config.hostname.length).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes several masters separated by commas, each checked, the first one first', () => {
    const config = loadAgentConfig({
      master: 'm1.example.org:7601, 10.0.0.6:7601,[::1]:7602',
      dataDir: '/d',
    });
    expect(config.masterAddresses).toEqual(['m1.example.org:7601', '10.0.0.6:7601', '[::1]:7602']);
    expect(config.masterAddress).toBe('m1.example.org:7601');
    expect(config.masterHost).toBe('m1.example.org');
    expect(configError(() => loadAgentConfig({ master: 'm1:7601,m2', dataDir: '/d' })).message).toMatch(
      /"m2" is not HOST:PORT/,
    );
  });

  it('takes the name, slots, debug steps and the token', () => {
    const config = loadAgentConfig({
      master: '10.0.0.5:7601',
      dataDir: '/srv/agent/',
      name: 'web1.example.org',
      slots: 4,
      debugSteps: true,
      token,
    });
    expect(config).toMatchObject({
      hostname: 'web1.example.org',
      slots: 4,
      debugSteps: true,
      dataDir: '/srv/agent',
    });
    expect(config.token?.value).toBe(token);
  });

  it.each([
    ['a missing master', { master: '' }, /--master HOST:PORT/],
    ['a master without port', { master: 'master.example.org' }, /is not HOST:PORT/],
    ['a URL for the master', { master: 'https://master:7601' }, /is not HOST:PORT/],
    ['port 0', { master: 'm:0' }, /between 1 and 65535/],
    ['port 70000', { master: 'm:70000' }, /between 1 and 65535/],
    ['no data directory', { dataDir: ' ' }, /data directory is required/],
    ['a bad name', { name: 'Web_1' }, /--name/],
    ['zero slots', { slots: 0 }, /slots must be a whole number from 1 to 64/],
    ['fractional slots', { slots: 1.5 }, /slots must be/],
  ])('refuses %s', (_case, override, message) => {
    const error = configError(() => loadAgentConfig({ master: 'm:7601', dataDir: '/d', ...override }));
    expect(error.code).toBe(AgentErrorCode.ConfigInvalid);
    expect(error.message).toMatch(message);
  });

  it('refuses a malformed token as TOKEN_INVALID', () => {
    expect(configError(() => loadAgentConfig({ master: 'm:1', dataDir: '/d', token: 'abc' })).code).toBe(
      AgentErrorCode.TokenInvalid,
    );
  });
});

describe('parseMasterAddress', () => {
  it('reads IPv6 in brackets and lowercases names', () => {
    expect(parseMasterAddress('[::1]:7601')).toEqual({ host: '::1', port: 7601 });
    expect(parseMasterAddress('Master.Example.ORG:7601')).toEqual({ host: 'master.example.org', port: 7601 });
    expect(loadAgentConfig({ master: '[fd00::5]:7601', dataDir: '/d' }).masterAddress).toBe('[fd00::5]:7601');
  });
});

describe('host settings', () => {
  it('defaults to /var/berth, the system nginx.conf, port 80 and the local socket', () => {
    const { host } = loadAgentConfig({ master: 'm:7601', dataDir: '/d' }, {});
    expect(host).toMatchObject({
      root: '/var/berth',
      nginxConf: '/etc/nginx/nginx.conf',
      httpPort: 80,
      dbAdminDefaults: undefined,
    });
    expect(Object.isFrozen(host)).toBe(true);
  });

  it("takes PHP-FPM's main configuration from --php-fpm-conf or BERTH_AGENT_PHP_FPM_CONF", () => {
    const env = { BERTH_AGENT_PHP_FPM_CONF: '/etc/php/8.3/fpm/php-fpm.conf' };
    expect(loadAgentConfig({ master: 'm:1', dataDir: '/d' }, env).host.phpFpmConf).toBe(
      '/etc/php/8.3/fpm/php-fpm.conf',
    );
    expect(
      loadAgentConfig({ master: 'm:1', dataDir: '/d', phpFpmConf: '/srv/fpm.conf' }, env).host.phpFpmConf,
    ).toBe('/srv/fpm.conf');
    expect(
      configError(() => loadAgentConfig({ master: 'm:1', dataDir: '/d', phpFpmConf: 'fpm.conf' })).message,
    ).toMatch(/--php-fpm-conf.*absolute/);
  });

  it('takes a flag over its BERTH_AGENT_* variable, and the variable over the default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
    try {
      const defaults = join(dir, 'admin.cnf');
      await writeFile(defaults, '[client]\nuser=root\n', { mode: 0o600 });
      const env = {
        BERTH_AGENT_ROOT: '/srv/berth',
        BERTH_AGENT_HTTP_PORT: '8080',
        BERTH_AGENT_PHP_FPM_SOCKET: '/run/php/php8.2-fpm.sock',
        BERTH_AGENT_DB_ADMIN_DEFAULTS: defaults,
        BERTH_AGENT_NGINX_CONF: '/srv/nginx/nginx.conf',
      };
      const fromEnv = loadAgentConfig({ master: 'm:1', dataDir: '/d' }, env).host;
      expect(fromEnv).toMatchObject({
        root: '/srv/berth',
        httpPort: 8080,
        phpFpmSocket: '/run/php/php8.2-fpm.sock',
        dbAdminDefaults: defaults,
        nginxConf: '/srv/nginx/nginx.conf',
      });
      const fromFlags = loadAgentConfig(
        { master: 'm:1', dataDir: '/d', root: '/opt/b/', httpPort: 8081 },
        env,
      ).host;
      expect(fromFlags).toMatchObject({ root: '/opt/b', httpPort: 8081 });

      await chmod(defaults, 0o644);
      expect(configError(() => loadAgentConfig({ master: 'm:1', dataDir: '/d' }, env)).message).toMatch(
        /can be read by others.*chmod 600/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['a relative root', { root: 'berth' }, /--root.*absolute/],
    ['/ as root', { root: '/' }, /--root cannot be \//],
    ['a port out of range', { httpPort: 70000 }, /--http-port/],
    [
      'a missing admin defaults file',
      { dbAdminDefaults: '/nonexistent/admin.cnf' },
      /cannot read the database admin/,
    ],
    ['an unknown web user', { webUser: 'no_such_user_here' }, /does not exist/],
  ])('refuses %s', (_case, override, message) => {
    const error = configError(() => loadAgentConfig({ master: 'm:1', dataDir: '/d', ...override }, {}));
    expect(error.code).toBe(AgentErrorCode.ConfigInvalid);
    expect(error.message).toMatch(message);
  });

  it('refuses a port variable that is not a number', () => {
    expect(
      configError(() => loadAgentConfig({ master: 'm:1', dataDir: '/d' }, { BERTH_AGENT_HTTP_PORT: '80x' }))
        .message,
    ).toMatch(/BERTH_AGENT_HTTP_PORT/);
  });
});
