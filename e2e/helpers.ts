/**
 * What every e2e spec shares: `test` records each request the page and its workers make and,
 * after every test, asserts that none left the page's origin (the app makes no request outside
 * its origin, ever); `dropFiles` drops files on the page the way a browser does.
 */
import { test as base, expect, type Page } from '@playwright/test';

export { expect };

export const test = base.extend<{ requests: string[] }>({
  requests: [
    async ({ context, baseURL }, use) => {
      const requests: string[] = [];
      context.on('request', (r) => requests.push(r.url()));
      await use(requests);
      const origin = new URL(baseURL!).origin;
      const foreign = requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin);
      expect(foreign, 'requests outside the page origin').toEqual([]);
    },
    { auto: true },
  ],
});

export interface DroppedFile {
  name: string;
  bytes: Uint8Array;
  /** MIME type; '' (as a browser gives for an unknown extension) when absent */
  type?: string;
}

/** Drops files on the page the way a browser does: dragenter, dragover and drop with a DataTransfer, on <main>. */
export async function dropFiles(page: Page, files: DroppedFile[]): Promise<void> {
  await page.evaluate(
    (specs) => {
      const dt = new DataTransfer();
      for (const f of specs) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      const target = document.querySelector('main') ?? document.body;
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    },
    files.map((f) => ({ name: f.name, type: f.type ?? '', b64: Buffer.from(f.bytes).toString('base64') })),
  );
}
