import { describe, expect, it } from 'vitest';
import { renderFields, renderTable } from './table.js';

describe('renderTable', () => {
  it('aligns every column on its widest cell, right-aligning where asked', () => {
    const text = renderTable(
      [{ header: 'NAME' }, { header: 'SLOTS', align: 'right' }, { header: 'STATUS' }],
      [
        ['web1', '0/1', 'connected'],
        ['db-primary', '12/16', 'offline'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'NAME        SLOTS  STATUS',
      'web1          0/1  connected',
      'db-primary  12/16  offline',
    ]);
  });

  it('leaves no trailing blanks and counts non-ASCII characters as one column', () => {
    const text = renderTable(
      [{ header: 'A' }, { header: 'B' }],
      [
        ['héllo', ''],
        ['x', 'y'],
      ],
    );
    expect(text.split('\n')).toEqual(['A      B', 'héllo', 'x      y']);
  });

  it('keeps every cell on one line and strips control characters', () => {
    const text = renderTable([{ header: 'TEXT' }, { header: 'N' }], [['two\nlines\x1b[31m', '1']]);
    expect(text.split('\n')).toEqual(['TEXT       N', 'two lines  1']);
  });

  it('prints the header alone for no rows', () => {
    expect(renderTable([{ header: 'ID' }, { header: 'STATE' }], [])).toBe('ID  STATE');
  });
});

describe('renderFields', () => {
  it('aligns values after their keys', () => {
    expect(
      renderFields([
        ['ID', 'abc'],
        ['Last seen', '5m ago'],
      ]),
    ).toBe('ID:         abc\nLast seen:  5m ago');
  });
});
