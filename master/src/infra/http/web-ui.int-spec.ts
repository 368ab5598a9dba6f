import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serveWebUi } from './web-ui.js';

@Module({})
class EmptyModule {}

describe('serveWebUi', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serve(directory: string): Promise<string> {
    const app = await NestFactory.create<NestExpressApplication>(EmptyModule, { logger: false });
    serveWebUi(app, directory);
    await app.listen(0, '127.0.0.1');
    cleanups.push(() => app.close());
    return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  }

  it('serves the built app at / and its assets, and leaves other paths alone', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'berth-ui-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    writeFileSync(join(directory, 'index.html'), '<!doctype html><title>Berth</title>');
    writeFileSync(join(directory, 'app.js'), 'console.log(1)');
    const url = await serve(directory);

    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('<title>Berth</title>');
    expect((await fetch(`${url}/app.js`)).status).toBe(200);
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
  });

  it('says how to build the UI when there is no build', async () => {
    const url = await serve(join(tmpdir(), 'berth-no-such-ui-build'));
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await index.text()).toMatch(/run `npm run build`/);
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
  });
});
