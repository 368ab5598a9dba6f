import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, loadMasterConfig } from './master-config.js';

describe('loadMasterConfig', () => {
  it('has working defaults and is frozen', () => {
    const config = loadMasterConfig({}, { HOME: '/home/op' });
    expect(config.dataDir).toBe('/home/op/.berth/master');
    expect(config.httpPort).toBe(DEFAULT_HTTP_PORT);
    expect(config.grpcPort).toBe(DEFAULT_GRPC_PORT);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.publicHosts).toContain('127.0.0.1');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lets flags win over the environment', () => {
    const config = loadMasterConfig(
      { port: 9000, dataDir: '/srv/berth' },
      { BERTH_HTTP_PORT: '8000', BERTH_DATA_DIR: '/x' },
    );
    expect(config.httpPort).toBe(9000);
    expect(config.dataDir).toBe('/srv/berth');
  });

  it('advertises the first public host in agent commands', () => {
    const config = loadMasterConfig({ publicHost: ['master.example.net'] }, {});
    expect(config.advertisedHost).toBe('master.example.net');
    expect(config.publicHosts).toContain('master.example.net');
  });

  it.each([
    [{ BERTH_HTTP_PORT: 'eighty' }, /BERTH_HTTP_PORT must be a port number/],
    [{ BERTH_GRPC_PORT: '70000' }, /BERTH_GRPC_PORT must be a port number/],
    [{ BERTH_LEASE_MS: '-1' }, /BERTH_LEASE_MS must be a positive/],
    [{ BERTH_LEASE_MS: '1000', BERTH_HEARTBEAT_MS: '800' }, /at least twice/],
    [{ DATABASE_URL: 'mysql://root@db/x' }, /must be a postgres:\/\/ URL/],
    [{ BERTH_LOG_LEVEL: 'loud' }, /BERTH_LOG_LEVEL/],
    [{ BERTH_METRICS_TOKEN: 'short' }, /BERTH_METRICS_TOKEN must be at least 16 characters/],
    [{ BERTH_METRICS_TOKEN: 'a token with spaces in it' }, /without spaces/],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => loadMasterConfig({}, env)).toThrow(ConfigError);
    expect(() => loadMasterConfig({}, env)).toThrow(message);
  });

  it('takes a metrics token, or none', () => {
    expect(loadMasterConfig({}, {}).metricsToken).toBeUndefined();
    expect(loadMasterConfig({}, { BERTH_METRICS_TOKEN: ' 0123456789abcdef0123 ' }).metricsToken).toBe(
      '0123456789abcdef0123',
    );
  });

  it('does not echo database credentials in its error', () => {
    expect(() => loadMasterConfig({}, { DATABASE_URL: 'mysql://root:hunter2@db/x' })).toThrow(
      /^(?!.*hunter2)/,
    );
  });
});
