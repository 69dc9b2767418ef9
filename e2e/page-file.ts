/**
 * A file on disk as a File in the page, for the page benchmarks (bench:recovery-page, bench:graph):
 * through a hidden <input type="file">, so the browser reads it from disk as it does a user's pick,
 * and the page's heap holds none of its bytes.
 *
 * Why not base64 through page.evaluate and `Uint8Array.from(atob(b64), fn)` (e2e/helpers.ts
 * dropFiles, fine for small fixtures): that leaves garbage in the page's heap many times the
 * file's size (the base64 string, its decoding, and the list of every byte `from` builds). For the
 * 25 MB bench model the main thread's heap stood at 248 MB before Compress was clicked; its
 * collection came in the middle of the measured recovery as a 200-285 ms main-thread task
 * (Chromium's trace: MajorGC, 250 -> 39 MB), which the page's own code does not cause.
 */
import type { Page } from '@playwright/test';

/** Puts the file at `path` in the page as `window.__file`. */
export async function fileInPage(page: Page, path: string): Promise<void> {
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = '__bench-file';
    input.style.display = 'none';
    document.body.append(input);
  });
  await page.locator('#__bench-file').setInputFiles(path);
  await page.evaluate(() => {
    const input = document.getElementById('__bench-file') as HTMLInputElement;
    (window as unknown as { __file: File }).__file = (input.files as FileList)[0];
    input.remove();
  });
}

/** Drops `window.__file` on <main> the way a browser does (dragenter, dragover, drop). */
export async function dropFileInPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add((window as unknown as { __file: File }).__file);
    const target = document.querySelector('main') ?? document.body;
    for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  });
}
