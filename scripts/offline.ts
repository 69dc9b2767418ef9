/**
 * Build-time pieces for working offline and for the Content-Security-Policy:
 *
 * - `CSP`: the policy. Only our own origin; WebAssembly compilation ('wasm-unsafe-eval', for
 *   onnxruntime-web), workers from our origin or blob: URLs, data:/blob: images and downloads.
 *   'unsafe-inline' styles are allowed for the style attributes React and xyflow set.
 * - `offlinePlugin()`: a Vite build plugin that puts the policy into index.html as a <meta> tag
 *   (the dev server's React refresh needs an inline script, so only the build gets it) and emits
 *   dist/sw.js from scripts/service-worker.js with the list of every file of the build and of
 *   public/, and a version from their contents.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, ResolvedConfig } from 'vite';

const DIRECTIVES: [string, string][] = [
  ['default-src', "'self'"],
  ['script-src', "'self' 'wasm-unsafe-eval'"],
  ['worker-src', "'self' blob:"],
  ['connect-src', "'self' blob: data:"],
  ['img-src', "'self' data: blob:"],
  ['style-src', "'self' 'unsafe-inline'"],
  ['font-src', "'self' data:"],
  ['object-src', "'none'"],
  ['base-uri', "'self'"],
  ['form-action', "'none'"],
];

/** The policy as a <meta http-equiv> tag carries it. */
export const CSP = DIRECTIVES.map(([k, v]) => `${k} ${v}`).join('; ');
/** The policy as a response header (frame-ancestors works only there). */
export const CSP_HEADER = `${CSP}; frame-ancestors 'none'`;

/** Cross-origin isolation: SharedArrayBuffer, and so onnxruntime-web's WASM threads, need both. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** What the preview server and the service worker send with every response. */
export const SERVED_HEADERS: Record<string, string> = {
  ...ISOLATION_HEADERS,
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': CSP_HEADER,
};

const SW_SOURCE = fileURLToPath(new URL('./service-worker.js', import.meta.url));

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    return [];
  }
  return out;
}

export function offlinePlugin(): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'studio-offline',
    apply: 'build',
    // after Vite's own plugins, so that index.html is in the bundle when the list is made
    enforce: 'post',
    configResolved(c) {
      config = c;
    },
    transformIndexHtml() {
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }];
    },
    generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const files = new Set<string>(['./']);
      for (const [fileName, item] of Object.entries(bundle)) {
        if (fileName.endsWith('.map')) continue;
        files.add(fileName);
        hash.update(fileName);
        hash.update(item.type === 'chunk' ? item.code : item.source);
      }
      const publicDir = config.publicDir;
      if (publicDir) {
        for (const p of filesUnder(publicDir)) {
          const rel = relative(publicDir, p).split('\\').join('/');
          files.add(rel);
          hash.update(rel);
          hash.update(readFileSync(p));
        }
      }
      const precache = [...files].sort();
      const source = readFileSync(SW_SOURCE, 'utf8')
        .replace('__VERSION__', hash.digest('hex').slice(0, 16))
        .replace("'__PRECACHE__'", JSON.stringify(JSON.stringify(precache)))
        .replace("'__HEADERS__'", JSON.stringify(JSON.stringify(SERVED_HEADERS)));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}
