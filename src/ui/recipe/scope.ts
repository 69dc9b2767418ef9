/**
 * Which layers a bulk edit applies to: all layers of an op type, the multi-selection, the layers
 * whose key matches a name pattern (a substring, or a glob with * and ?), or a name-scope group
 * (the layers whose key starts with a scope prefix such as `/encoder/layer.3/`).
 */
export type BulkScope =
  | { kind: 'op'; op: string }
  | { kind: 'selection'; keys: readonly string[] }
  | { kind: 'pattern'; pattern: string }
  | { kind: 'group'; prefix: string };

export interface LayerRef {
  key: string;
  op: string;
}

const GLOB = /[*?]/;

/**
 * A case-insensitive matcher: with * or ? the pattern is a glob over the whole key (* any run of
 * characters, ? one character); otherwise a substring. An empty pattern matches nothing.
 */
export function patternMatcher(pattern: string): (key: string) => boolean {
  const p = pattern.trim();
  if (!p) return () => false;
  if (!GLOB.test(p)) {
    const needle = p.toLowerCase();
    return (key) => key.toLowerCase().includes(needle);
  }
  let src = '';
  for (const ch of p) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  const re = new RegExp(`^${src}$`, 'is');
  return (key) => re.test(key);
}

/** The separator of a key's name scopes: '/' when it has one, else '.' (`blocks.3.attn.qkv`). */
function separator(key: string): string {
  return key.includes('/') ? '/' : '.';
}

/** Scope prefixes of a key, each ending with its separator: `/a/b/Conv` gives `/a/` and `/a/b/`. */
export function scopesOf(key: string): string[] {
  const sep = separator(key);
  const out: string[] = [];
  let from = key.startsWith(sep) ? 1 : 0;
  for (;;) {
    const at = key.indexOf(sep, from);
    if (at < 0) break;
    // a leading separator alone is no scope
    if (at > 0) out.push(key.slice(0, at + 1));
    from = at + 1;
  }
  return out;
}

export interface ScopeGroup {
  prefix: string;
  count: number;
}

/** Every name-scope group with the number of layers in it, in key order. */
export function scopeGroups(layers: readonly LayerRef[]): ScopeGroup[] {
  const counts = new Map<string, number>();
  for (const l of layers) for (const s of scopesOf(l.key)) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()].map(([prefix, count]) => ({ prefix, count })).sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/** Op types of the layers with their counts, most common first. */
export function opCounts(layers: readonly LayerRef[]): { op: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const l of layers) counts.set(l.op, (counts.get(l.op) ?? 0) + 1);
  return [...counts.entries()].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || (a.op < b.op ? -1 : 1));
}

/** Keys of the layers in the scope, in model order. */
export function matchLayers(layers: readonly LayerRef[], scope: BulkScope): string[] {
  switch (scope.kind) {
    case 'op':
      return layers.filter((l) => l.op === scope.op).map((l) => l.key);
    case 'selection': {
      const set = new Set(scope.keys);
      return layers.filter((l) => set.has(l.key)).map((l) => l.key);
    }
    case 'pattern': {
      const match = patternMatcher(scope.pattern);
      return layers.filter((l) => match(l.key)).map((l) => l.key);
    }
    case 'group':
      return scope.prefix ? layers.filter((l) => l.key.startsWith(scope.prefix)).map((l) => l.key) : [];
  }
}
