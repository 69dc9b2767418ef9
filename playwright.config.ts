import { defineConfig, devices } from '@playwright/test';

/** The e2e suite runs against the production build served by `vite preview` (COOP/COEP on). */
// E2E_PORT lets several runs share a machine (each builds into its own outDir too).
const PORT = Number(process.env.E2E_PORT ?? 4179);
const OUT_DIR = process.env.E2E_PORT ? `dist-e2e-${PORT}` : 'dist';
const BASE_URL = `http://127.0.0.1:${PORT}`;

const chromium = {
  ...devices['Desktop Chrome'],
  viewport: { width: 1360, height: 900 },
  // Debian's chromium; Playwright never downloads browsers here (scripts/ensure-chromium.sh).
  launchOptions: {
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
};

export default defineConfig({
  testDir: 'e2e',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: true,
  retries: 0,
  reporter: process.env.CI ? [['line']] : [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'chromium', testMatch: /\.spec\.ts$/, use: chromium },
    // `npm run screenshot` only: takes docs/screenshot.png for the README.
    ...(process.env.STUDIO_SCREENSHOT
      ? [{ name: 'screenshot', testMatch: /\.shot\.ts$/, use: { ...chromium, viewport: { width: 1280, height: 860 } } }]
      : []),
  ],
  webServer: {
    command: `npx vite build --logLevel warn --outDir ${OUT_DIR} && npx vite preview --outDir ${OUT_DIR} --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: BASE_URL,
    reuseExistingServer: false,
    timeout: 240_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
