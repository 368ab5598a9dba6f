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

  it("keeps a database's name within 64 as a GRANT escapes it (each _ as \\_)", () => {
    // What broke a rehearsal beside default-db1000-files500.example: 59 characters, 66 escaped.
    for (const domain of [
      'rehearsal-585bf6c3.default-db1000-files500.example',
      `${'a-'.repeat(40)}.example`,
    ]) {
      const { database } = siteDatabaseNames(domain);
      const escaped = database.replace(/_/g, '\\_');
      expect(escaped.length, escaped).toBeLessThanOrEqual(64);
      expect(database).toMatch(/^[a-z][a-z0-9_]*_[0-9a-f]{8}$/);
    }
    expect(siteDatabaseNames('rehearsal-585bf6c3.default-db1000-files500.example').database).toMatch(
      /^rehearsal_585bf6c3_default_db1000_files500_exampl_[0-9a-f]{8}$/,
    );
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
