import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveTransferResult, ArchiveTransfers } from '../../link/archive-client.js';
import { runStep, testContext, testRoot } from '../../testing/step-context.js';
import { siteArchive } from './archive.js';
import { siteExtract } from './extract.js';

const BIG = 160 * 1024 * 1024;
const BUDGET = 64 * 1024 * 1024;

/** Archives kept as files: nothing of them is held in memory by the test itself. */
class FileArchives implements ArchiveTransfers {
  constructor(private readonly dir: string) {}

  async putArchive(options: Parameters<ArchiveTransfers['putArchive']>[0]): Promise<ArchiveTransferResult> {
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(join(this.dir, options.archiveId));
    await pipeline(
      options.source as AsyncIterable<Buffer>,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      out,
    );
    return { archiveId: options.archiveId, sha256: hash.digest('hex'), size };
  }

  async getArchive(options: Parameters<ArchiveTransfers['getArchive']>[0]): Promise<ArchiveTransferResult> {
    const path = join(this.dir, options.archiveId);
    const hash = createHash('sha256');
    let size = 0;
    const source = createReadStream(path);
    source.on('data', (chunk) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(source, options.destination);
    return { archiveId: options.archiveId, sha256: hash.digest('hex'), size };
  }
}

/** The highest RSS above the start while `work` runs, sampled every 10 ms. */
async function peakGrowth(work: () => Promise<unknown>): Promise<number> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

let root: Awaited<ReturnType<typeof testRoot>>;
beforeAll(async () => {
  root = await testRoot();
});
afterAll(async () => {
  await root?.remove();
});

describe('site archives of large sites', () => {
  it(`archive and extract ${BIG / 1024 / 1024} MiB with flat memory`, { timeout: 180_000 }, async () => {
    const domain = 'big.example.org';
    const files = join(root.root, 'sites', domain, 'files');
    await mkdir(files, { recursive: true });
    const big = await open(join(files, 'big.bin'), 'w');
    const block = randomBytes(1024 * 1024);
    for (let written = 0; written < BIG; written += block.length) await big.write(block);
    await big.close();
    const store = join(root.root, 'store');
    await mkdir(store);
    const archives = new FileArchives(store);
    const archiveId = '7c1f6a1e-5d0b-4f63-9a51-0d3b1b6f7a10';

    const archiving = await peakGrowth(() =>
      runStep(
        siteArchive,
        { domain, archiveId, includeDatabase: null },
        testContext(root.host, { archives }),
      ),
    );
    const restoring = await peakGrowth(() =>
      runStep(
        siteExtract,
        { domain, archiveId, targetDomain: 'copy.example.org', importDatabase: null },
        testContext(root.host, { archives }),
      ),
    );
    expect(archiving).toBeLessThan(BUDGET);
    expect(restoring).toBeLessThan(BUDGET);
    const copy = join(root.root, 'sites', 'copy.example.org', 'files', 'big.bin');
    const digest = async (path: string) => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    };
    expect(await digest(copy)).toBe(await digest(join(files, 'big.bin')));
  });
});
