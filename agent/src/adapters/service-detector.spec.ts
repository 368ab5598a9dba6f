import { describe, expect, it } from 'vitest';
import { isRunning, parseVersion } from './service-detector.js';

describe('parseVersion', () => {
  it.each([
    ['nginx', 'nginx version: nginx/1.22.1\n', '1.22.1'],
    ['apache2', 'Server version: Apache/2.4.62 (Debian)\nServer built:   2024-10-04', '2.4.62'],
    ['php-fpm', 'PHP 8.2.28 (fpm-fcgi) (built: Mar 13 2025)\nCopyright (c) The PHP Group', '8.2.28'],
    ['php', 'PHP 8.2.28 (cli) (built: Mar 13 2025) (NTS)', '8.2.28'],
    [
      'mariadb',
      'mariadbd  Ver 10.11.11-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)',
      '10.11.11',
    ],
    ['mysql', '/usr/sbin/mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)', '8.0.36'],
    ['drush', 'Drush Commandline Tool 12.5.3.0', '12.5.3.0'],
  ])('reads the %s banner', (service, banner, version) => {
    expect(parseVersion(service, banner)).toBe(version);
  });

  it('gives an empty version for output without one', () => {
    expect(parseVersion('nginx', 'nginx: [emerg] something broke')).toBe('');
    expect(parseVersion('drush', '')).toBe('');
  });
});

describe('isRunning', () => {
  it('compares with the 15-character process name the kernel keeps', () => {
    expect(isRunning('php-fpm8.2', new Set(['php-fpm8.2']))).toBe(true);
    expect(isRunning('a-very-long-daemon-name', new Set(['a-very-long-dae']))).toBe(true);
    expect(isRunning('nginx', new Set(['php-fpm8.2']))).toBe(false);
  });

  it('treats mysqld and mariadbd as the same daemon', () => {
    expect(isRunning('mysqld', new Set(['mariadbd']))).toBe(true);
    expect(isRunning('mariadbd', new Set(['mysqld']))).toBe(true);
  });
});
