import { formatBytes } from '../../core/bytes-and-counts';
import { useLayerOverride, useLayerSetting, useRecipeStore } from '../../state/recipe-store';
import { SettingsEditor } from '../recipe/SettingsEditor';

/** The recipe's settings for one layer: writes overrides (only keys that differ from the defaults). */
export function LayerControls({ layerKey }: { layerKey: string }) {
  const setting = useLayerSetting(layerKey);
  const own = useLayerOverride(layerKey);
  const setLayers = useRecipeStore((s) => s.setLayers);
  const clearLayers = useRecipeStore((s) => s.clearLayers);
  const focus = useRecipeStore((s) => (s.projection?.focus?.key === layerKey ? s.projection.focus : undefined));
  const unsupported = useRecipeStore((s) => s.projection?.unsupported.find((u) => u.key === layerKey)?.reason);
  if (!setting) return null;
  return (
    <div className="layer-controls" data-testid="layer-controls">
      <SettingsEditor value={setting} own={own ?? {}} testId="layer" onChange={(patch, tag) => setLayers([layerKey], patch, `${layerKey}:${tag}`)} />
      <div className="layer-controls__foot">
        {focus ? (
          <span className="layer-size" data-testid="layer-size" data-before={focus.before} data-after={focus.after}>
            This layer: {formatBytes(focus.before)} → <strong>{formatBytes(focus.after)}</strong>
          </span>
        ) : (
          <span className="muted small">…</span>
        )}
        {own && (
          <button type="button" className="link-button small" data-testid="layer-reset" onClick={() => clearLayers([layerKey])}>
            Use defaults
          </button>
        )}
      </div>
      {unsupported && (
        <p className="inline-warning small" data-testid="layer-unsupported">
          Will be left as it is: {unsupported}.
        </p>
      )}
    </div>
  );
}
