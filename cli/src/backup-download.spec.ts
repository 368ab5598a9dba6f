import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliHarness } from './testing/cli-harness.js';
import type { FakeRoutes } from './testing/fake-master.js';

const BACKUP = '6f1c2d3e-0000-4000-8000-0000000000f1';
const archive = randomBytes(300_000);
const sha256 = createHash('sha256').update(archive).digest('hex');
const path = `/api/sites/a.example/backups/${BACKUP}/archive`;

const serving = (bytes: Buffer, recorded = sha256): FakeRoutes => ({
  [`GET ${path}`]: () => ({
    raw: bytes,
    headers: {
      'content-type': 'application/octet-stream',
      'content-disposition': 'attachment; filename="a.example-20261206T120000Z-files.tar.gz"',
      'x-berth-sha256': recorded,
    },
  }),
});

describe('berth site backup-download', () => {
  const cli = useCliHarness('download');
  const download = (routes: FakeRoutes, ...more: string[]) =>
    cli.run(routes, ['site', 'backup-download', 'a.example', '--backup', BACKUP, ...more]);

  it('saves the archive when its sha256 is the one the store recorded, under the name given', async () => {
    const file = join(cli.dir, 'saved.tar.gz');
    const { code, stdout, requests } = await download(serving(archive), '-o', file);
    expect(code).toBe(0);
    expect(readFileSync(file).equals(archive)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(stdout).toContain(`sha256 ${sha256} (checked)`);
    expect(requests[0]!.query.get('part')).toBe('files');
  });

  it('asks for the database dump with --database', async () => {
    const { code, requests } = await download(
      serving(archive),
      '--database',
      '-o',
      join(cli.dir, 'db.sql.gz'),
      '--json',
    );
    expect(code).toBe(0);
    expect(requests[0]!.query.get('part')).toBe('database');
  });

  it('keeps nothing when the bytes do not hash to the recorded sha256', async () => {
    const damaged = Buffer.from(archive);
    damaged[1000] = damaged[1000]! ^ 0xff;
    const file = join(cli.dir, 'damaged.tar.gz');
    const { code, stderr } = await download(serving(damaged), '-o', file);
    expect(code).toBe(1);
    expect(stderr).toContain(`the store recorded ${sha256}: nothing was saved`);
    expect(() => statSync(file)).toThrow();
    expect(() => statSync(`${file}.part`)).toThrow();
  });

  it('never overwrites a file that is there', async () => {
    const file = join(cli.dir, 'there.tar.gz');
    writeFileSync(file, 'mine');
    const { code, stderr } = await download(serving(archive), '-o', file);
    expect(code).toBe(2);
    expect(stderr).toContain('exists already');
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });
});
