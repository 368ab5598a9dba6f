import { describe, expect, it } from 'vitest';
import { Nginx, type NginxContext } from './nginx.js';

function nginxFor(nginxConf: string): Nginx {
  const context: NginxContext = {
    host: { nginxConf },
    exec: () => Promise.reject(new Error('no process in this test')),
  };
  return new Nginx(context);
}

/** A promise and the function that settles it, to hold a change open until the test says so. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('Nginx.exclusive', () => {
  it('runs the changes to one nginx one after the other, even from separate adapters', async () => {
    const events: string[] = [];
    const first = gate();
    const a = nginxFor('/etc/test-a/nginx.conf').exclusive(async () => {
      events.push('a start');
      await first.opened;
      events.push('a end');
    });
    const b = nginxFor('/etc/test-a/nginx.conf').exclusive(() => {
      events.push('b start');
      events.push('b end');
      return Promise.resolve('b');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['a start']);
    first.open();
    await a;
    expect(await b).toBe('b');
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('goes on with the next change after one fails, and lets changes to another nginx run meanwhile', async () => {
    const held = gate();
    const failing = nginxFor('/etc/test-b/nginx.conf').exclusive(async () => {
      await held.opened;
      throw new Error('nginx refused the configuration');
    });
    let otherRan = false;
    await nginxFor('/etc/test-c/nginx.conf').exclusive(() => {
      otherRan = true;
      return Promise.resolve();
    });
    expect(otherRan).toBe(true);
    const next = nginxFor('/etc/test-b/nginx.conf').exclusive(() => Promise.resolve('next'));
    held.open();
    await expect(failing).rejects.toThrow('nginx refused the configuration');
    expect(await next).toBe('next');
  });
});
