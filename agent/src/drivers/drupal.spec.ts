import { describe, expect, it } from 'vitest';
import { redactDrushOutput } from './drupal.js';

describe('redactDrushOutput', () => {
  it('hides the password the installer prints, and leaves other lines alone', () => {
    expect(
      redactDrushOutput(' [success] Installation complete.  User name: admin  User password: 9dKx7Pq2'),
    ).toBe(' [success] Installation complete.  User name: admin  User password: [redacted]');
    expect(redactDrushOutput('db-password : s3cret')).toBe('db-password : [redacted]');
    expect(redactDrushOutput(' [notice] Move the password reset timeout to user settings.')).toBe(
      ' [notice] Move the password reset timeout to user settings.',
    );
  });
});
