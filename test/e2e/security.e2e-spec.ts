import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BerthProcess,
  startAgent,
  startMaster,
  type AgentHandle,
  type MasterHandle,
} from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

describe('security at the edges', () => {
  let database: TestDatabase;
  let master: MasterHandle;
  let agent: AgentHandle;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    master = await startMaster(database, {
      label: 'security-master',
      env: { BERTH_ENROLLMENT_TTL_MS: '1500' },
    });
    agent = await startAgent(master, { name: 'web1', label: 'security-web1' });
  });

  afterAll(async () => {
    await agent?.stop();
    await master?.stop();
    await database?.drop();
  });

  it('answers 401 without a token and with a wrong one, never data', async () => {
    const bare = await fetch(`${master.url}/api/servers`);
    expect(bare.status).toBe(401);
    const bareBody = (await bare.json()) as Record<string, unknown>;
    expect(bareBody).toMatchObject({ statusCode: 401, code: 'AUTH_MISSING_TOKEN' });
    expect(JSON.stringify(bareBody)).not.toContain('web1');

    const wrong = await fetch(`${master.url}/api/servers`, {
      headers: { authorization: 'Bearer bt_not-a-real-token' },
    });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(await wrong.json())).not.toContain('web1');

    const tasks = await fetch(`${master.url}/api/tasks`, { headers: { authorization: 'Basic x' } });
    expect(tasks.status).toBe(401);

    const health = await fetch(`${master.url}/api/health`);
    expect(health.status).toBe(200);
  });

  async function enrollWith(token: string, name: string): Promise<{ code: number | null; output: string }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-agent-refused-'));
    try {
      const process = new BerthProcess(
        `security-${name}`,
        ['agent', 'start', '--master', master.grpcAddress, '--name', name, '--data-dir', dataDir],
        { BERTH_AGENT_TOKEN: token },
      );
      const timer = setTimeout(() => void process.stop('SIGKILL'), 20_000);
      const code = await process.exited;
      clearTimeout(timer);
      return { code, output: process.text() };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('refuses an agent whose enrollment token was already used', async () => {
    const { enrollment } = await master.api.post<{ enrollment: { token: string } }>('/api/servers', {
      name: 'web2',
    });
    const first = new BerthProcess(
      'security-web2',
      [
        'agent',
        'start',
        '--master',
        master.grpcAddress,
        '--data-dir',
        mkdtempSync(join(tmpdir(), 'berth-agent-')),
      ],
      {
        BERTH_AGENT_TOKEN: enrollment.token,
      },
    );
    try {
      await expect
        .poll(async () => (await master.api.get<{ connected: boolean }>('/api/servers/web2')).connected, {
          timeout: 20_000,
        })
        .toBe(true);
    } finally {
      await first.stop();
    }
    const again = await enrollWith(enrollment.token, 'web2-again');
    expect(again.code).toBe(2);
    expect(again.output).toMatch(/invalid, already used or expired/);
  });

  it('refuses an agent whose enrollment token expired', async () => {
    const { enrollment } = await master.api.post<{ enrollment: { token: string } }>('/api/servers', {
      name: 'web3',
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const late = await enrollWith(enrollment.token, 'web3');
    expect(late.code).toBe(2);
    expect(late.output).toMatch(/invalid, already used or expired/);
    expect((await master.api.get<{ enrolledAt: string | null }>('/api/servers/web3')).enrolledAt).toBeNull();
  });

  it('refuses a token whose CA pin is not this master', async () => {
    const { enrollment } = await master.api.post<{ enrollment: { token: string } }>('/api/servers', {
      name: 'web4',
    });
    const [prefix, , secret] = enrollment.token.split('.');
    const forged = `${prefix}.${Buffer.alloc(32, 7).toString('base64url')}.${secret}`;
    const result = await enrollWith(forged, 'web4');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/CA does not match/);
    expect((await master.api.get<{ enrolledAt: string | null }>('/api/servers/web4')).enrolledAt).toBeNull();
  });
});
