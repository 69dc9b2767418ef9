import { useRecipeStore } from '../../state/recipe-store';
import { useSelectionStore } from '../../state/selection-store';
import { BulkEdit } from '../recipe/BulkEdit';
import { LayerList } from '../recipe/LayerList';
import { RecipePanel } from '../recipe/RecipePanel';
import { NodeInspector } from './NodeInspector';
import { Section } from './Section';
import './inspector.css';

/** Details and per-layer controls for the selected node; with nothing selected, the recipe, bulk edits and the layer list. */
export function Inspector() {
  const key = useSelectionStore((s) => s.selectedKey);
  return (
    <aside className="inspector" data-testid="inspector" aria-label="Inspector">
      {key !== undefined ? <NodeInspector key={key} nodeKey={key} /> : <Overview />}
    </aside>
  );
}

function Overview() {
  const layerCount = useRecipeStore((s) => s.layers.length);
  return (
    <div className="overview" data-testid="inspector-overview">
      <Section title="Defaults" testId="section-defaults">
        <RecipePanel />
      </Section>
      <Section title="Bulk edit" testId="section-bulk">
        <BulkEdit />
      </Section>
      <Section title="Layers" aside={<span className="count">{layerCount}</span>} testId="section-layers">
        <LayerList />
      </Section>
    </div>
  );
}
