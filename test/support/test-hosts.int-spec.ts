import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startDbHost, startTestNetwork } from './test-hosts.js';
import { startWebStack } from './web-stack.js';

const run = promisify(execFile);

describe('test hosts (network namespaces on a bridge)', () => {
  it('gives each host its own address, its own servers, and leaves nothing behind', async () => {
    const network = await startTestNetwork('hosts-spec');
    let namespaces: string[] = [];
    try {
      const web = await network.addHost('web1');
      const db = await network.addHost('db1');
      const other = await network.addHost('other');
      namespaces = [web.namespace, db.namespace, other.namespace];
      expect(web.address).toBe(`${network.prefix}.11`);
      expect(db.address).toBe(`${network.prefix}.12`);

      // A MariaDB of db1's own, on its address only: a user granted to web1's address connects
      // from web1 over TCP, and the same user from another host is refused.
      const mariadb = await startDbHost(db);
      await mariadb.sql(
        `CREATE USER 'site'@'${web.address}' IDENTIFIED BY 'secret-1'; GRANT USAGE ON *.* TO 'site'@'${web.address}'`,
      );
      const asSite = ['--no-defaults', '-h', db.address, '-usite', '-N', '-B', '-e', 'SELECT current_user()'];
      const fromWeb = await web.exec('mariadb', [...asSite, '-psecret-1']);
      expect(fromWeb.stdout.trim()).toBe(`site@${web.address}`);
      await expect(other.exec('mariadb', [...asSite, '-psecret-1'])).rejects.toThrow(
        /is not allowed to connect/,
      );
      // The machine's own MariaDB is not this one: it does not listen on db1's address.
      await expect(
        run('mariadb', [
          '--no-defaults',
          '-h',
          '127.0.0.1',
          '-P',
          '3306',
          '-usite',
          '-psecret-1',
          '-e',
          'SELECT 1',
        ]),
      ).rejects.toThrow();

      // An nginx of web1's own, on web1's address port 80, answering a vhost.
      const root = join(web.dir, 'berth');
      mkdirSync(join(root, 'config', 'nginx'), { recursive: true });
      mkdirSync(join(root, 'www'), { recursive: true });
      writeFileSync(join(root, 'www', 'index.html'), 'hello from web1\n');
      writeFileSync(
        join(root, 'config', 'nginx', 'hello.conf'),
        `server { listen ${web.address}:80; server_name hello.test; root ${join(root, 'www')}; }\n`,
      );
      const stack = await startWebStack({ root, host: web });
      network.onStop(() => stack.stop());
      const answer = await stack.request('hello.test', '/');
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('hello from web1\n');
      expect((await stack.request('unknown.test', '/')).status).toBe(404);
    } finally {
      await network.stop();
    }
    const { stdout } = await run('ip', ['netns', 'list']);
    for (const namespace of namespaces) expect(stdout).not.toContain(namespace);
    const addresses = (await run('ip', ['-o', '-4', 'addr', 'show'])).stdout;
    expect(addresses).not.toContain(`${network.gateway}/24`);
    expect(existsSync(network.hosts[0]!.dir)).toBe(false);
  });
});
