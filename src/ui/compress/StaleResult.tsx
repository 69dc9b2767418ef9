import { serializeRecipe } from '../../compress/recipe';
import { useCompressStore } from '../../state/compress-store';
import { useRecipeStore } from '../../state/recipe-store';

/** Whether the shown result was made with another recipe than the current one. */
export function useResultStale(): boolean {
  const made = useCompressStore((s) => s.result?.recipe);
  const current = useRecipeStore((s) => s.recipe);
  if (!made) return false;
  return made !== current && serializeRecipe(made) !== serializeRecipe(current);
}

/**
 * The mark a result carries wherever it is shown (result panel, Benchmark, Compare) once the
 * recipe has changed since it was made, with one click to compress again.
 */
export function StaleResult({ where }: { where: string }) {
  const stale = useResultStale();
  const busy = useCompressStore((s) => s.job !== undefined);
  if (!stale) return null;
  return (
    <div className="compress-note stale-note" data-testid={`${where}-stale-result`}>
      <span className="stale-mark">stale:</span> the recipe changed since this result was made; its sizes and measurements are of the old recipe.{' '}
      <button
        type="button"
        className="button button--secondary button--small"
        disabled={busy}
        data-testid={`${where}-recompress`}
        onClick={() => void useCompressStore.getState().compress(useRecipeStore.getState().recipe)}
      >
        Compress again
      </button>
    </div>
  );
}
