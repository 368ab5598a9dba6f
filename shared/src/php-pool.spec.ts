import { describe, expect, it } from 'vitest';
import {
  parsePhpSettings,
  PHP_POOL_SETTINGS,
  readPhpPool,
  renderPhpPool,
  type PhpPoolOptions,
} from './php-pool.js';
import { ValidationError } from './validation.js';

function options(overrides: Partial<PhpPoolOptions> = {}): PhpPoolOptions {
  return {
    pool: 's_example',
    user: 's_example',
    group: 's_example',
    socket: '/var/berth/run/php-fpm/s_example.sock',
    socketOwner: 'www-data',
    openBasedir: [
      '/var/berth/sites/example.com',
      '/var/berth/config/sites/example.com',
      '/var/berth/platforms',
    ],
    tmpDir: '/var/berth/tmp/php/s_example',
    settings: {},
    domain: 'example.com',
    ...overrides,
  };
}

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parsePhpSettings', () => {
  it('takes the allowed settings in their forms and normalises them', () => {
    expect(
      parsePhpSettings({
        memory_limit: '512m',
        upload_max_filesize: '100M',
        post_max_size: '1G',
        max_execution_time: 120,
        max_input_vars: '5000',
        'pm.max_children': 12,
        display_errors: 'on',
      }),
    ).toEqual({
      memory_limit: '512M',
      upload_max_filesize: '100M',
      post_max_size: '1G',
      max_execution_time: '120',
      max_input_vars: '5000',
      'pm.max_children': '12',
      display_errors: 'on',
    });
    expect(parsePhpSettings({})).toEqual({});
  });

  it('has a default of the allowed form for every setting', () => {
    for (const setting of Object.values(PHP_POOL_SETTINGS)) {
      expect(setting.parse(setting.default)).toBe(setting.default);
    }
  });

  it.each([
    ['memory_limit', '64M', /memory_limit must be a size from 128M to 2G/],
    ['memory_limit', '3G', /from 128M to 2G/],
    ['memory_limit', '-1', /memory_limit must be a size/],
    ['memory_limit', '256M\nphp_admin_value[open_basedir] = /', /memory_limit must be a size/],
    ['upload_max_filesize', '10 M', /upload_max_filesize must be a size/],
    ['max_execution_time', 0, /max_execution_time must be a whole number from 1 to 3600 \(seconds\)/],
    ['max_execution_time', 3601, /from 1 to 3600/],
    ['max_execution_time', 1.5, /whole number/],
    ['max_input_vars', 999, /max_input_vars must be a whole number from 1000 to 100000/],
    ['pm.max_children', 201, /pm\.max_children must be a whole number from 1 to 200/],
    ['display_errors', 'yes', /display_errors must be on or off/],
  ])('refuses %s = %j, naming the allowed form', (name, value, message) => {
    const error = refusal(() => parsePhpSettings({ [name]: value }));
    expect(error.field).toBe(`settings.${name}`);
    expect(error.message).toMatch(message);
  });

  it('refuses a setting not on the list and says which are', () => {
    const error = refusal(() => parsePhpSettings({ 'php_admin_value[open_basedir]': '/' }));
    expect(error.message).toMatch(/is not a PHP setting a site may change; allowed: memory_limit, /);
    expect(error.message).toContain('pm.max_children');
    expect(refusal(() => parsePhpSettings({ disable_functions: '' })).message).toMatch(/not a PHP setting/);
  });

  it('refuses a post_max_size smaller than upload_max_filesize (the defaults count)', () => {
    expect(refusal(() => parsePhpSettings({ post_max_size: '8M' })).message).toMatch(
      /post_max_size \(8M\) must be at least upload_max_filesize \(64M\)/,
    );
    expect(parsePhpSettings({ post_max_size: '8M', upload_max_filesize: '8M' })).toEqual({
      post_max_size: '8M',
      upload_max_filesize: '8M',
    });
  });
});

describe('renderPhpPool', () => {
  it('runs the pool as its user on its own socket that only nginx and the user may use', () => {
    const text = renderPhpPool(options());
    expect(text).toMatch(/^; PHP-FPM pool of example\.com, written by Berth/);
    expect(text).toContain('[s_example]\nuser = s_example\ngroup = s_example\n');
    expect(text).toContain('listen = /var/berth/run/php-fpm/s_example.sock\n');
    expect(text).toContain('listen.owner = www-data\nlisten.group = s_example\nlisten.mode = 0660\n');
    expect(text).toContain('\npm = ondemand\n');
    expect(text).toContain('\nsecurity.limit_extensions = .php\n');
    expect(renderPhpPool(options({ socketOwner: undefined }))).toContain('listen.owner = s_example\n');
  });

  it('keeps PHP to its own directories, with a trailing slash so that no longer name matches', () => {
    const text = renderPhpPool(options());
    expect(text).toContain(
      'php_admin_value[open_basedir] = /var/berth/sites/example.com/:/var/berth/config/sites/example.com/:' +
        '/var/berth/platforms/:/var/berth/tmp/php/s_example/\n',
    );
    for (const key of ['upload_tmp_dir', 'session.save_path', 'sys_temp_dir'])
      expect(text).toContain(`php_admin_value[${key}] = /var/berth/tmp/php/s_example\n`);
  });

  it('writes the limits as admin values (the defaults for what is not given) and leaves opcache timing alone', () => {
    const text = renderPhpPool(options({ settings: { memory_limit: '1G', 'pm.max_children': '20' } }));
    expect(text).toContain('php_admin_value[memory_limit] = 1G\n');
    expect(text).toContain('pm.max_children = 20\n');
    expect(text).toContain('php_admin_value[upload_max_filesize] = 64M\n');
    expect(text).toContain('php_admin_value[max_execution_time] = 60\n');
    expect(text).toContain('php_admin_value[max_input_vars] = 3000\n');
    expect(text).toContain('php_admin_flag[display_errors] = off\n');
    expect(text).toContain('request_terminate_timeout = 300s\n');
    expect(text).not.toMatch(/^php_value/m);
    expect(text).not.toMatch(/^[^;].*revalidate_freq/m);
    expect(renderPhpPool(options({ settings: { max_execution_time: '900' } }))).toContain(
      'request_terminate_timeout = 900s\n',
    );
  });

  it.each([
    ['a user with a newline', { user: 'a\nlisten = 0.0.0.0:9000' }, /user/],
    ['root', { user: 'root' }, /never runs as root/],
    ['an uppercase pool name', { pool: 'Site' }, /pool "Site" must be/],
    ['a socket with a space', { socket: '/run/a b.sock' }, /socket/],
    ['a relative tmp dir', { tmpDir: 'tmp' }, /tmpDir.*absolute/],
    ['a basedir with a colon', { openBasedir: ['/var/berth/sites/a:/etc'] }, /openBasedir\[0\]/],
    ['no basedir', { openBasedir: [] }, /at least one directory/],
    ['a setting off the list', { settings: { 'php_admin_flag[engine]': 'off' } }, /not a PHP setting/],
    ['an unsafe setting value', { settings: { display_errors: 'on\nuser = root' } }, /on or off/],
  ])('refuses %s', (_what, overrides, message) => {
    expect(refusal(() => renderPhpPool(options(overrides as Partial<PhpPoolOptions>))).message).toMatch(
      message,
    );
  });
});

describe('readPhpPool', () => {
  it('reads back what renderPhpPool wrote', () => {
    const text = renderPhpPool(
      options({ settings: { memory_limit: '512M' }, twinOf: 'example.org', pool: 's_example-t1' }),
    );
    expect(readPhpPool(text)).toEqual({
      pool: 's_example-t1',
      user: 's_example',
      group: 's_example',
      socket: '/var/berth/run/php-fpm/s_example.sock',
      openBasedir: [
        '/var/berth/sites/example.com/',
        '/var/berth/config/sites/example.com/',
        '/var/berth/platforms/',
        '/var/berth/tmp/php/s_example/',
      ],
      tmpDir: '/var/berth/tmp/php/s_example',
      settings: {
        memory_limit: '512M',
        upload_max_filesize: '64M',
        post_max_size: '64M',
        max_execution_time: '60',
        max_input_vars: '3000',
        'pm.max_children': '5',
        display_errors: 'off',
      },
      twinOf: 'example.org',
    });
  });

  it('is undefined for a file that is not a pool Berth could have written', () => {
    expect(readPhpPool('')).toBeUndefined();
    expect(readPhpPool('[www]\nuser = www-data\n')).toBeUndefined();
    expect(readPhpPool('[www]\nuser = ../x\ngroup = g\nlisten = /run/a.sock\n')).toBeUndefined();
  });
});
