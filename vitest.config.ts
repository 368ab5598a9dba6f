import { defineConfig } from 'vitest/config';

/** The benchmarks run only when asked for by name (`npm run bench`), never in a plain `vitest run`. */
const argv = process.argv.join(' ');
const benchRequested = /--project[= ]bench\b/.test(argv);

/** The e2e files that spend minutes waiting for minutes to turn. */
const WALL_CLOCK_E2E = ['test/e2e/operations.e2e-spec.ts'];

const benchProject = {
  test: {
    name: 'bench',
    include: ['bench/**/*.bench-spec.ts'],
    testTimeout: 900_000,
    hookTimeout: 600_000,
    // Benchmarks own the machine: one file at a time.
    fileParallelism: false,
  },
};

// Vite's transformer reads experimentalDecorators / emitDecoratorMetadata from tsconfig.json, so
// NestJS and TypeORM decorators behave in tests as in the tsc build.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{shared,master,agent,cli}/src/**/*.spec.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            '{shared,master,agent,cli}/src/**/*.int-spec.ts',
            'test/{fixtures,support}/**/*.int-spec.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          exclude: WALL_CLOCK_E2E,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Cross-process tests start masters and agents on loopback ports: one file at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          // Tests that wait for the wall clock (per-minute schedules) and are idle most of that time:
          // ops/test.sh runs them in a vitest process of their own beside the e2e files (one vitest
          // process runs its projects one after the other). They use names of their own
          // (ops-*.example), random ports and their own master, agent and web stack, as every e2e file does.
          name: 'e2e-clock',
          include: WALL_CLOCK_E2E,
          testTimeout: 360_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      ...(benchRequested ? [benchProject] : []),
    ],
  },
});
