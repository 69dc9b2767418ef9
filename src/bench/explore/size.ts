/**
 * Sizes for the explorer, from the projection (compress/project.ts) that the top bar shows: the
 * projected download size (stored bytes, with magnitude-pruned zeros counted as a zip-like
 * compressor would store them; without pruning it equals the stored size). Per-layer sizes feed
 * the greedy search; totals use projectSize itself, so a point's size is the number the top bar
 * shows for its recipe.
 */
import { projectSize, projectWeight, type ProjectionInput } from '../../compress/project';
import { BUILTIN_DEFAULTS, resolveRecipe, type LayerSettings, type PartialLayerSettings, type Recipe, type Target } from '../../compress/recipe';

/**
 * What a size means: `stored`, the bytes the file keeps (what `--max-size` and the file name
 * mean); `transfer`, the estimated download after zip-like compression, where magnitude-pruned
 * zeros count as nearly free.
 */
export type SizeBasis = 'stored' | 'transfer';

export class SizeModel {
  private readonly byKey = new Map<string, ProjectionInput['layers'][number]>();
  private readonly owned = new Map<string, Set<string>>();
  private readonly cache = new Map<string, number>();

  constructor(
    readonly input: ProjectionInput,
    readonly target: Target,
    readonly basis: SizeBasis = 'transfer',
  ) {
    const seen = new Set<string>();
    for (const l of input.layers) {
      this.byKey.set(l.key, l);
      const mine = new Set<string>();
      for (const w of l.weights) {
        if (seen.has(w.id)) continue;
        seen.add(w.id);
        mine.add(w.id);
      }
      this.owned.set(l.key, mine);
    }
  }

  /** Projected download bytes of one layer's constants under `settings` (tensors shared with an earlier layer not counted). */
  layerBytes(key: string, settings: PartialLayerSettings): number {
    const ck = `${key}\u0000${settings.weights ?? ''}\u0000${settings.prune ?? 0}`;
    const hit = this.cache.get(ck);
    if (hit !== undefined) return hit;
    const layer = this.byKey.get(key);
    let n = 0;
    if (layer) {
      const s: LayerSettings = { ...BUILTIN_DEFAULTS, ...settings };
      const mine = this.owned.get(key) as Set<string>;
      let sum = 0;
      let before = 0;
      let refused = false;
      for (const w of layer.weights) {
        if (!mine.has(w.id)) continue;
        const out = projectWeight(w, s, layer.op, this.target);
        if (out.unsupported) refused = true;
        sum += this.basis === 'stored' ? out.after : out.zip;
        before += w.bytes;
      }
      n = refused ? before : sum;
    }
    this.cache.set(ck, n);
    return n;
  }

  /** Projected download bytes of the whole model under a recipe (the top bar's projection). */
  total(recipe: Recipe): number {
    const resolved = resolveRecipe(recipe, this.input.layers);
    const byKey = new Map(resolved.map((r) => [r.key, r.settings]));
    const p = projectSize(this.input, (k) => byKey.get(k) as LayerSettings, this.target);
    return this.basis === 'stored' ? p.after : p.zip;
  }

  /** Stored bytes now. */
  get before(): number {
    return this.input.totalBytes;
  }
}
