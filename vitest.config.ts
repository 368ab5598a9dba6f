import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the tests so that decorator metadata (which NestJS and TypeORM read) is emitted,
// as tsc does for the build; esbuild/oxc do not emit it.
const swcPlugin = () =>
  swc.vite({
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
  });

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [swcPlugin()],
        test: {
          name: 'unit',
          include: ['{shared,master,agent,cli}/src/**/*.spec.ts'],
        },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'integration',
          include: ['{shared,master,agent,cli}/src/**/*.int-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [swcPlugin()],
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
