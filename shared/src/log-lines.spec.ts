import { describe, expect, it } from 'vitest';
import { isNotable, shownByDefault, warning } from './log-lines.js';

describe('log lines', () => {
  it("shows the master's lines and every warning and error by default, not each command and its output", () => {
    expect(shownByDefault({ stream: 'master', text: 'backup 1: 4096 bytes' })).toBe(true);
    expect(shownByDefault({ stream: 'agent', text: warning('left out files/fifo: a FIFO') })).toBe(true);
    expect(shownByDefault({ stream: 'stderr', text: ' [error]  Update failed: pathauto_update_8109' })).toBe(
      true,
    );
    expect(shownByDefault({ stream: 'stderr', text: 'PHP Fatal error:  Uncaught Exception' })).toBe(true);
    expect(
      shownByDefault({ stream: 'agent', text: '$ mariadb --defaults-extra-file=/dev/fd/3 site_db' }),
    ).toBe(false);
    expect(shownByDefault({ stream: 'stdout', text: '{"packages": []}' })).toBe(false);
    expect(shownByDefault({ stream: 'stderr', text: ' [notice] Update started: system_update_10300' })).toBe(
      false,
    );
    expect(isNotable({ text: 'error: the dump failed' })).toBe(true);
  });
});
