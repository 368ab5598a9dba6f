import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessLedger } from './process-ledger.js';
import { ProcessRunner } from './process-runner.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('ProcessLedger', () => {
  const dirs: string[] = [];
  const spare: number[] = [];
  afterEach(() => {
    for (const pid of spare.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('lets a restarted agent kill the step groups a killed one left running, children included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-ledger-'));
    dirs.push(dir);
    // The "previous agent": a step whose shell started a grandchild, still running.
    const runner = new ProcessRunner(new ProcessLedger(dir));
    const running = runner.run({ file: 'sh', args: ['-c', 'sleep 60 & sleep 60; wait'], timeoutMs: 0 });
    running.catch(() => undefined);
    await expect.poll(() => readdirSync(dir).length).toBe(1);
    const leader = Number(readdirSync(dir)[0]);
    expect(alive(leader)).toBe(true);

    const killed = new ProcessLedger(dir).reapLeftovers();
    expect(killed).toHaveLength(1);
    await expect.poll(() => alive(leader)).toBe(false);
    await expect(running).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves alone a process that reused a recorded pid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-ledger-'));
    dirs.push(dir);
    const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    spare.push(stranger.pid!);
    writeFileSync(
      join(dir, String(stranger.pid)),
      JSON.stringify({ pid: stranger.pid, startTime: '1', command: 'old' }),
    );
    expect(new ProcessLedger(dir).reapLeftovers()).toEqual([]);
    expect(alive(stranger.pid!)).toBe(true);
  });
});
