import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Run from the package root (`npm run build`): the app lives in master/web/, the master serves dist/ui.
export default defineConfig({
  root: 'master/web',
  base: './',
  plugins: [react()],
  build: { outDir: '../../dist/ui', emptyOutDir: true, sourcemap: true },
  logLevel: 'warn',
});
