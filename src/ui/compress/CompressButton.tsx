import { useCompressStore } from '../../state/compress-store';
import { useModelStore } from '../../state/model-store';
import { CompressPanel } from './CompressPanel';
import { useCurrentRecipe } from './current-recipe';
import { jobFraction } from './describe';
import './compress.css';

/**
 * The topbar's Compress button: applies the current recipe to the open model in the compress
 * worker (pressing it again while one runs restarts with the current recipe), and hosts the panel
 * that shows progress and the result.
 */
export function CompressButton() {
  const hasModel = useModelStore((s) => s.model !== undefined);
  const pct = useCompressStore((s) => (s.job ? Math.round(jobFraction(s.job) * 100) : undefined));
  const hasOutcome = useCompressStore((s) => s.result !== undefined || s.error !== undefined || s.notice !== undefined);
  const panelOpen = useCompressStore((s) => s.panelOpen);
  const compress = useCompressStore((s) => s.compress);
  const setOpen = useCompressStore((s) => s.setPanelOpen);
  const recipe = useCurrentRecipe();
  if (!hasModel) return null;
  return (
    <>
      {!panelOpen && (hasOutcome || pct !== undefined) && (
        <button type="button" className="button button--secondary" onClick={() => setOpen(true)} data-testid="compress-show" title="Show the compression result">
          {pct !== undefined ? `Compressing… ${pct}%` : 'Result'}
        </button>
      )}
      <button
        type="button"
        className="button button--primary"
        onClick={() => void compress(recipe)}
        data-testid="compress-button"
        data-running={pct !== undefined ? 'true' : 'false'}
        title={pct !== undefined ? 'Start again with the current recipe' : 'Compress the model with the current recipe'}
      >
        {pct !== undefined ? 'Restart compression' : 'Compress'}
      </button>
      <CompressPanel />
    </>
  );
}
