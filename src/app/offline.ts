/**
 * Registers the service worker (dist/sw.js, built by scripts/offline.ts) in the production build:
 * after the first visit the studio opens and runs with the network off. Not in the dev server.
 */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((e: unknown) => {
    // the studio works without it (only not offline): say so in the console, nowhere else
    console.warn('The offline cache could not be set up:', e);
  });
}
