/**
 * Keep: the session (model files, recipe with its undo history, the compression result and its
 * runtime check) survives a reload and a closed tab; recent models reopen and delete; a full
 * quota is reported while work goes on in memory; after the first visit the studio opens and
 * runs with the network off (service worker), cross-origin isolated and under its
 * Content-Security-Policy; and no request ever leaves the page's origin.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from './helpers';
import { tinyMlp } from './fixtures';

test.beforeEach(async ({ context }) => {
  // every CSP violation the page sees is recorded
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
});

/** The saved session as IndexedDB holds it: current id, its recipe's default weights and whether a result is kept. */
async function saved(page: Page): Promise<{ weights: string | undefined; target: string | undefined; past: number; result: boolean }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('onnx-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('sessions', 'readonly');
          const store = tx.objectStore('sessions');
          const cur = store.get('current');
          cur.onsuccess = () => {
            const id = cur.result as string;
            const state = store.get(`state:${id}`);
            const result = store.get(`result:${id}`);
            tx.oncomplete = () => {
              const s = state.result as { recipe: { defaults: { weights?: string }; target: string }; past: unknown[] } | undefined;
              resolve({ weights: s?.recipe.defaults.weights, target: s?.recipe.target, past: s?.past.length ?? 0, result: result.result !== undefined });
              db.close();
            };
          };
        };
      }),
  );
}

async function compress(page: Page): Promise<void> {
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
}

async function chooseInt8Wasm(page: Page): Promise<void> {
  await page.getByTestId('target-wasm').click();
  await page.getByTestId('preset-int8').click();
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
}

async function expectRestored(page: Page, compressedSize: string): Promise<void> {
  await expect(page.getByTestId('compress-result')).toBeVisible();
  await expect(page.getByTestId('compress-compressed-size')).toHaveAttribute('data-value', compressedSize);
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('target-wasm')).toHaveAttribute('aria-checked', 'true');
}

test('a reload and a closed tab restore the model, the recipe with its undo history, and the result', async ({ page, context }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await chooseInt8Wasm(page);
  await compress(page);
  const size = (await page.getByTestId('compress-compressed-size').getAttribute('data-value'))!;
  await expect.poll(() => saved(page)).toEqual({ weights: 'int8', target: 'wasm', past: 2, result: true });

  await page.reload();
  await expectRestored(page, size);
  await expect(page.locator('[data-testid="compress-layer-row"]')).toHaveCount(4);
  // the export works on the restored result
  const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-zip').click()]);
  expect(zip.suggestedFilename()).toBe('digits-cnn.int8-per-channel.wasm.zip');
  // undo history came back: two steps (int8 defaults, then the target)
  await page.getByTestId('compress-close').click();
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'false');
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('target-portable')).toHaveAttribute('aria-checked', 'true');
  await page.keyboard.press('Control+Shift+z');
  await page.keyboard.press('Control+Shift+z');
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');

  // a closed tab: a new one opens where the work was left
  await page.close();
  const again = await context.newPage();
  await again.goto('/');
  await expectRestored(again, size);
  expect(await again.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
});

test('recent models reopen with their recipe and result, and can be deleted', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await page.getByTestId('preset-int8').click();
  await compress(page);
  const size = (await page.getByTestId('compress-compressed-size').getAttribute('data-value'))!;
  await expect.poll(() => saved(page)).toMatchObject({ weights: 'int8', result: true });

  const mlp = tinyMlp();
  await page.getByTestId('file-input').setInputFiles({ name: mlp.name, mimeType: 'application/octet-stream', buffer: Buffer.from(mlp.bytes) });
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('tiny-mlp.onnx');
  await expect(page.getByTestId('defaults-weights-int8')).toHaveCount(0);

  await page.getByTestId('recent-menu-button').click();
  const items = page.getByTestId('recent-model');
  await expect(items).toHaveCount(2);
  await expect(items.nth(0)).toHaveAttribute('data-name', 'tiny-mlp.onnx');
  await expect(items.nth(0)).toHaveAttribute('data-current', 'true');
  await expect(items.nth(1)).toHaveAttribute('data-name', 'digits-cnn.onnx');
  await items.nth(1).getByTestId('recent-open').click();
  // a model reopened with its result shows the result's panel, which belongs to the Graph tab
  await expect(page.getByTestId('topbar-file')).toHaveText('digits-cnn.onnx');
  await page.getByTestId('tab-graph').click();
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  // its result was kept while the other model was open
  await expect(page.getByTestId('compress-compressed-size')).toHaveAttribute('data-value', size);

  await page.getByTestId('recent-menu-button').click();
  await expect(items.nth(0)).toHaveAttribute('data-name', 'digits-cnn.onnx');
  await page.locator('[data-testid="recent-model"][data-name="tiny-mlp.onnx"]').getByTestId('recent-delete').click();
  await expect(items).toHaveCount(1);
  await page.reload();
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('recent-menu-button').click();
  await expect(items).toHaveCount(1);
  await expect(items.nth(0)).toHaveAttribute('data-name', 'digits-cnn.onnx');

  // ?empty starts blank, with the recent models to reopen
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await expect(page.getByTestId('empty-state').getByTestId('recent-model')).toHaveCount(1);
});

test('a full storage quota is reported and the work goes on in memory', async ({ page, context }) => {
  await context.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
      if (this.name === 'sessions') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
  });
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await expect(page.getByTestId('storage-error')).toContainText('Browser storage is full');
  await expect(page.getByTestId('storage-error')).toContainText('stays in this tab');
  await page.getByTestId('preset-int8').click();
  await compress(page);
  await expect(page.getByTestId('compress-layer-stats')).toHaveAttribute('data-value', '4/0');
});

async function waitForOfflineCache(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, undefined, { timeout: 60_000 });
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('studio-'))!);
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  });
  expect(cached).toContain('/sample/digits-cnn.onnx');
  expect(cached.some((p) => /^\/assets\/ort-wasm-simd-threaded\.jsep-.*\.wasm$/.test(p))).toBe(true);
  // the CPU-only build the workers' own runs use (src/workers/ort.ts loadOrtCpu)
  expect(cached.some((p) => /^\/assets\/ort-wasm-simd-threaded-[^.]*\.wasm$/.test(p))).toBe(true);
  expect(cached.some((p) => /^\/assets\/compress\.worker-.*\.js$/.test(p))).toBe(true);
}

async function isolation(page: Page) {
  return page.evaluate(async () => ({
    isolated: globalThis.crossOriginIsolated,
    meta: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '',
    // an inline script (not allowed by script-src) does not run, and is reported as a violation
    inlineBlocked: await new Promise<boolean>((resolve) => {
      const w = window as unknown as { __inlineRan?: boolean };
      const el = document.createElement('script');
      el.textContent = 'window.__inlineRan = true';
      document.head.append(el);
      el.remove();
      setTimeout(() => resolve(w.__inlineRan !== true), 50);
    }),
  }));
}

async function offline(context: BrowserContext, on: boolean) {
  await context.setOffline(on);
}

test('after the first visit it opens and runs offline, isolated and under its CSP, with no cross-origin request', async ({ page, context }) => {
  test.setTimeout(240_000);
  const first = await page.goto('/');
  expect(first!.headers()['content-security-policy']).toContain("default-src 'self'");
  expect(first!.headers()['cross-origin-embedder-policy']).toBe('require-corp');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  const online = await isolation(page);
  expect(online.isolated).toBe(true);
  expect(online.meta).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(online.inlineBlocked).toBe(true);
  await waitForOfflineCache(page);
  await chooseInt8Wasm(page);
  await compress(page);
  const size = (await page.getByTestId('compress-compressed-size').getAttribute('data-value'))!;
  await expect.poll(async () => (await saved(page)).result).toBe(true);

  await offline(context, true);
  try {
    const response = await page.reload();
    expect(response!.fromServiceWorker()).toBe(true);
    expect(response!.headers()['cross-origin-opener-policy']).toBe('same-origin');
    expect(response!.headers()['content-security-policy']).toContain("default-src 'self'");
    await expectRestored(page, size);
    const off = await isolation(page);
    expect(off.isolated).toBe(true);
    expect(off.inlineBlocked).toBe(true);
    // it runs offline: onnxruntime-web's wasm comes from the cache
    await page.getByTestId('compress-verify-run').click();
    const wasm = page.locator('[data-testid="compress-verify-row"][data-backend="wasm"]');
    await expect(wasm).toHaveAttribute('data-ok', 'true', { timeout: 120_000 });
    expect(Number(await wasm.getAttribute('data-cosine'))).toBeGreaterThan(0.99);
    // and compresses again, and exports
    await page.getByTestId('preset-int4 b32').click();
    await compress(page);
    const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-zip').click()]);
    expect(zip.suggestedFilename()).toMatch(/^digits-cnn\.int4-.*\.zip$/);
    // the built-in sample opens offline too
    await page.getByTestId('open-sample').click();
    await expect(page.getByTestId('compress-button')).toBeVisible();
    await expect(page.getByTestId('error')).toHaveCount(0);
  } finally {
    await offline(context, false);
  }
  // the only violation is the inline-script probe (reported once per policy: the header and the meta tag)
  expect([...new Set(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp))]).toEqual(['script-src-elem inline']);
});
