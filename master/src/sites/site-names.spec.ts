import { describe, expect, it } from 'vitest';
import { newDatabasePassword, siteDatabaseNames } from './site-names.js';

describe('siteDatabaseNames', () => {
  it('derives readable, safe names within MariaDB limits', () => {
    const names = siteDatabaseNames('www.example.com', () => Buffer.from([1, 2, 3, 4]));
    expect(names.database).toMatch(/^www_example_com_[0-9a-f]{8}$/);
    expect(names.user).toMatch(/^www_example_com_[0-9a-f]{8}$/);
  });

  it('keeps long domains within 64 and 32 characters', () => {
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.example`;
    const names = siteDatabaseNames(domain);
    expect(names.database.length).toBeLessThanOrEqual(64);
    expect(names.user.length).toBeLessThanOrEqual(32);
    expect(names.user).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('starts with a letter even when the domain starts with a digit', () => {
    expect(siteDatabaseNames('1.example').database).toMatch(/^s_1_example_/);
  });

  it('differs for two sites of the same domain (a site deleted and installed again)', () => {
    expect(siteDatabaseNames('a.example').database).not.toBe(siteDatabaseNames('a.example').database);
  });
});

describe('newDatabasePassword', () => {
  it('is long and needs no quoting', () => {
    expect(newDatabasePassword()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
