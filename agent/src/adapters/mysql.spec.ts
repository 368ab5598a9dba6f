import { describe, expect, it } from 'vitest';
import {
  validateDatabaseName,
  validateDatabaseUser,
  validateGrantHost,
} from '../../../shared/src/validation.js';
import { createDatabaseScript } from '../steps/db/create.js';
import { parseSchemaRows } from '../steps/db/schema-versions.js';
import { account, grantDatabase, quoteIdentifier, quoteString } from './mysql.js';

describe('SQL quoting', () => {
  it('quotes identifiers, doubling backticks', () => {
    expect(quoteIdentifier('site_db')).toBe('`site_db`');
    expect(quoteIdentifier('a`b')).toBe('`a``b`');
  });

  it('escapes the wildcards of a GRANT database pattern', () => {
    expect(grantDatabase('a_b')).toBe('`a\\_b`');
    expect(grantDatabase('a%b\\c')).toBe('`a\\%b\\\\c`');
    expect(grantDatabase('plain')).toBe('`plain`');
  });

  it('escapes string literals so that no value can end the literal', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('back\\slash')).toBe("'back\\\\slash'");
    expect(quoteString('a\nb\r\0\x1a"')).toBe("'a\\nb\\r\\0\\Z\\\"'");
    expect(quoteString("\\'; DROP USER root; --")).toBe("'\\\\\\'; DROP USER root; --'");
    expect(account('u', '%')).toBe("'u'@'%'");
  });

  it('builds the db.create script with the password only inside literals', () => {
    const script = createDatabaseScript('a_b', 'a_b', '10.0.%', "p'w");
    expect(script).toContain('CREATE DATABASE IF NOT EXISTS `a_b` CHARACTER SET utf8mb4');
    expect(script).toContain("CREATE USER IF NOT EXISTS 'a_b'@'10.0.%' IDENTIFIED BY 'p\\'w';");
    expect(script).toContain("ALTER USER 'a_b'@'10.0.%' IDENTIFIED BY 'p\\'w';");
    expect(script).toContain("GRANT ALL PRIVILEGES ON `a\\_b`.* TO 'a_b'@'10.0.%';");
  });
});

describe('database names', () => {
  it.each(['a', 'site_1', `a${'b'.repeat(63)}`])('takes the database name %s', (name) => {
    expect(validateDatabaseName('database', name).ok).toBe(true);
  });
  it.each(['', '1a', '_a', 'A', 'a-b', 'a b', 'a`b', 'a.b', `a${'b'.repeat(64)}`, 'é'])(
    'refuses the database name %j',
    (name) => {
      expect(validateDatabaseName('database', name).ok).toBe(false);
    },
  );
  it('limits user names to 32 characters', () => {
    expect(validateDatabaseUser('user', `u${'x'.repeat(31)}`).ok).toBe(true);
    expect(validateDatabaseUser('user', `u${'x'.repeat(32)}`).ok).toBe(false);
    expect(validateDatabaseUser('user', 7).ok).toBe(false);
  });
  it.each([
    '%',
    'localhost',
    '10.0.0.5',
    '10.0.%',
    '::1',
    'fd00::5',
    'db1.example.org',
    '10.0.0.0/255.255.255.0',
  ])('takes the account host %s', (host) => {
    expect(validateGrantHost('host', host).ok).toBe(true);
  });
  it.each(['', "'", 'a b', 'x@y', 'Host', `${'a'.repeat(256)}`, "%'; --"])(
    'refuses the account host %j',
    (host) => {
      expect(validateGrantHost('host', host).ok).toBe(false);
    },
  );
});

describe('parseSchemaRows', () => {
  it('reads serialized integers and leaves out uninstalled and odd values', () => {
    expect(
      parseSchemaRows([
        ['system', 'i:10201;'],
        ['node', 'i:8001;'],
        ['gone', 'i:-1;'],
        ['odd', 's:4:"8001";'],
        ['short'],
      ]),
    ).toEqual({ system: 10201, node: 8001 });
  });
});
