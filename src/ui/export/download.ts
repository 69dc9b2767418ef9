/**
 * Saves a Blob as a file through a temporary object URL. The URL is revoked after a minute (the
 * browser needs it until the download has started; a Blob handle costs no copy of the bytes).
 */
const URL_LIFETIME_MS = 60_000;

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), URL_LIFETIME_MS);
}
