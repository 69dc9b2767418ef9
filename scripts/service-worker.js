/**
 * The studio's service worker (built into dist/sw.js by scripts/offline.ts, which fills in the
 * three constants below). After the first visit the app opens and runs with the network off:
 *
 * - install: every file of the build (the app shell, hashed assets, onnxruntime-web's .mjs and
 *   .wasm) and of public/ (the sample) goes into a cache named after the build's content hash;
 * - activate: caches of other builds are deleted, open pages are taken over;
 * - fetch (same origin, GET only; nothing else is touched): page loads try the network first and
 *   fall back to the cached index.html; everything else comes from the cache first.
 *
 * Every response it serves carries the cross-origin isolation headers (COOP/COEP/CORP) and the
 * Content-Security-Policy, so SharedArrayBuffer (WASM threads, cancel) and the policy still hold
 * when the page and its workers are served from the cache.
 */
const VERSION = '__VERSION__';
const PRECACHE = /** @type {string[]} */ (JSON.parse('__PRECACHE__'));
const HEADERS = /** @type {Record<string, string>} */ (JSON.parse('__HEADERS__'));

const PREFIX = 'studio-';
const CACHE = `${PREFIX}${VERSION}`;
const scope = new URL(self.registration.scope);
const INDEX = new URL('index.html', scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((path) => new Request(new URL(path, scope).href, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** The response with the isolation and CSP headers set (a fresh Response: cached ones are immutable). */
function withHeaders(response) {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(HEADERS)) headers.set(k, v);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  // ignoreVary: the server varies on Origin, which a precache request (none) and a module script (same origin) differ in
  return cache.match(request, { ignoreSearch: true, ignoreVary: true });
}

async function navigate(request) {
  try {
    return withHeaders(await fetch(request));
  } catch (e) {
    const cached = (await fromCache(INDEX)) ?? (await fromCache(scope.href));
    if (cached) return withHeaders(cached);
    throw e;
  }
}

async function asset(request) {
  const cached = await fromCache(request);
  if (cached) return withHeaders(cached);
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return withHeaders(response);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin) return;
  if (request.headers.has('range')) return;
  event.respondWith(request.mode === 'navigate' ? navigate(request) : asset(request));
});
