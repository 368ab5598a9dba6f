import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CliError } from '../errors.js';
import {
  cellText,
  listFields,
  pickFields,
  renderOutput,
  renderRecord,
  renderValueTable,
  renderYaml,
} from './structured.js';

const sites = [
  { domain: 'a.example', status: 'enabled', client: null, actions: ['verify', 'backup'] },
  { domain: 'b.example', status: 'disabled', client: 'acme', actions: [] },
];

describe('--fields', () => {
  it('keeps the keys asked for, in that order, of each item of a list or of one object', () => {
    expect(pickFields(sites, ['status', 'domain'])).toEqual([
      { status: 'enabled', domain: 'a.example' },
      { status: 'disabled', domain: 'b.example' },
    ]);
    expect(pickFields(sites[0], ['domain'])).toEqual({ domain: 'a.example' });
  });

  it('gives an item without a declared key null, so that every item has the same keys', () => {
    expect(pickFields([{ domain: 'a' }], ['domain', 'code'], ['domain', 'code'])).toEqual([
      { domain: 'a', code: null },
    ]);
  });

  it('refuses an unknown field with a usage error that lists the fields there are', () => {
    const error = (() => {
      try {
        pickFields(sites, ['domain', 'colour', 'size']);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({
      exitCode: 2,
      message: '--fields: no fields "colour", "size" here',
      details: ['The fields are: domain, status, client, actions'],
    });
    expect(() => pickFields('text', ['a'])).toThrow(/no field "a"/);
  });

  it('takes the keys a list declares (checked by the compiler against the type) when it is empty', () => {
    const declared = listFields<{ id: string; name: string }>({ id: true, name: true }, ['name']);
    expect(declared).toEqual({ fields: ['id', 'name'], table: ['name'] });
    expect(pickFields([], ['name'], declared.fields)).toEqual([]);
    expect(() => pickFields([], ['nom'], declared.fields)).toThrow(/no field "nom"/);
  });
});

describe('YAML', () => {
  it('reads back as the same data in YAML 1.1 and 1.2 parsers: ambiguous strings are quoted', () => {
    const value = [
      {
        a: 'yes',
        b: 'on',
        c: '012',
        d: '0o12',
        e: '2025-01-01T00:00:00Z',
        f: null,
        g: true,
        h: 3,
        i: 'x\ny',
      },
      { n: 'no', y: '~', on: '', list: ['1', 2], nested: { deep: '@x: #y' } },
    ];
    const text = renderYaml(value);
    expect(parse(text)).toEqual(value);
    expect(parse(text, { version: '1.1' })).toEqual(value);
    expect(text).toContain('a: "yes"\n');
    expect(text).toContain('g: true\n');
  });

  it('prints what JSON would: no undefined keys, dates as strings', () => {
    expect(renderYaml({ a: undefined, at: new Date('2025-01-01T00:00:00Z') })).toBe(
      'at: "2025-01-01T00:00:00.000Z"\n',
    );
  });
});

describe('tables of JSON', () => {
  it('shows a list as a row per item under its JSON keys, "-" for nothing, lists of words joined', () => {
    expect(renderValueTable(sites).split('\n')).toEqual([
      'domain     status    client  actions',
      'a.example  enabled   -       verify,backup',
      'b.example  disabled  acme    -',
    ]);
    expect(renderValueTable(sites, ['domain']).split('\n')).toEqual(['domain', 'a.example', 'b.example']);
  });

  it('shows one object as FIELD and VALUE rows, nested values as compact JSON', () => {
    expect(renderValueTable({ id: 't1', progress: { done: 1, total: 2 } }).split('\n')).toEqual([
      'FIELD     VALUE',
      'id        t1',
      'progress  {"done":1,"total":2}',
    ]);
    expect(cellText([{ a: 1 }])).toBe('[{"a":1}]');
  });
});

describe('renderOutput', () => {
  it('prints JSON as --json always did, YAML, or a table, each cut to --fields', () => {
    expect(renderOutput(sites, { format: 'json', fields: undefined })).toBe(
      JSON.stringify(sites, null, 2) + '\n',
    );
    expect(parse(renderOutput(sites, { format: 'yaml', fields: ['domain'] }))).toEqual([
      { domain: 'a.example' },
      { domain: 'b.example' },
    ]);
    expect(renderOutput(sites, { format: 'table', fields: ['domain', 'client'] })).toBe(
      'domain     client\na.example  -\nb.example  acme\n',
    );
  });

  it("shows a declared list's default columns in a table without --fields", () => {
    const list = { fields: ['domain', 'status', 'client', 'actions'], table: ['domain', 'status'] };
    expect(renderOutput(sites, { format: 'table', fields: undefined, list })).toBe(
      'domain     status\na.example  enabled\nb.example  disabled\n',
    );
  });

  it('prints a record of a stream as one line of JSON or a YAML document of its own', () => {
    expect(renderRecord(sites[0], { format: 'json', fields: ['domain'] })).toBe('{"domain":"a.example"}\n');
    expect(renderRecord(sites[0], { format: 'yaml', fields: ['domain'] })).toBe('---\ndomain: "a.example"\n');
  });
});
