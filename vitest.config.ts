import { defineConfig } from 'vitest/config';

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
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Cross-process tests start masters and agents on loopback ports: one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
