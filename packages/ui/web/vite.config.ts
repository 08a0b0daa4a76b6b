import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into the package (dist/web) so the server serves it without a CDN or a second install.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    // The launchpad's chunk is CodeMirror (~530 kB), loaded only on that page.
    chunkSizeWarningLimit: 600,
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
  },
  logLevel: 'warn',
});
