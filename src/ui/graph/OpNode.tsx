import type { NodeProps } from '@xyflow/react';
import { memo, type CSSProperties } from 'react';
import { useLayerSetting } from '../../state/recipe-store';
import { useExploreStore } from '../../state/explore-store';
import { useGraphStore } from '../../state/graph-store';
import { useSelectionStore } from '../../state/selection-store';
import { PRUNE_COLOR, WEIGHT_COLORS, WEIGHT_TINTS } from '../recipe/colors';
import type { OpFlowNode } from './flow-types';
import { chipLetter, chipTitle, opCategory, shapeText } from './graph-labels';

/**
 * One op node: the op type, its short name, its folded weights as shape chips, and for layers
 * the colour of their compression setting (left stripe and tint) with a dashed border and a
 * percentage badge when pruned. If/Loop/Scan nodes carry a button that opens their bodies.
 */
export const OpNode = memo(function OpNode({ data }: NodeProps<OpFlowNode>) {
  const n = data.node;
  const key = n.key ?? '';
  const selected = useSelectionStore((s) => s.selectedKey === key);
  const inMulti = useSelectionStore((s) => s.multiKeys.includes(key));
  const setting = useLayerSetting(key);
  // the explorer's heat overlay: 0 (robust) to 1 (most sensitive), when it is on
  const heat = useExploreStore((s) => (s.heatOn ? s.heat[key] : undefined));
  const open = useGraphStore((s) => (n.expandId ? s.scene?.expanded.includes(n.expandId) === true : false));
  const shown = n.weights ?? [];
  const more = n.moreWeights ?? 0;
  const pruned = setting !== undefined && setting.prune > 0;
  const style: CSSProperties = { width: n.width, height: n.height };
  if (n.isLayer) {
    const mode = setting?.weights ?? 'fp32';
    // the shorthand first, so the stripe's own colour wins
    if (pruned) style.borderColor = PRUNE_COLOR;
    style.borderLeftColor = WEIGHT_COLORS[mode];
    if (mode !== 'fp32') style.background = WEIGHT_TINTS[mode];
    if (heat !== undefined) style.boxShadow = `0 0 0 4px rgba(220, 38, 38, ${(0.1 + 0.8 * heat).toFixed(2)})`;
  }
  const cls = [
    'gnode',
    `gnode--${opCategory(n.label)}`,
    n.isLayer ? 'gnode--layer' : '',
    pruned ? 'gnode--pruned' : '',
    selected ? 'gnode--selected' : inMulti ? 'gnode--multi' : '',
  ].join(' ');
  return (
    <div
      className={cls}
      style={style}
      data-testid="graph-node"
      data-key={key}
      data-op={n.label}
      data-selected={selected || inMulti ? 'true' : 'false'}
      data-weights={setting?.weights}
      data-prune={setting?.prune}
      data-heat={heat === undefined ? undefined : heat.toFixed(2)}
      title={key}
    >
      <div className="gnode__head">
        <span className="gnode__dot" />
        <span className="gnode__op" title={n.label}>
          {n.label}
        </span>
        {n.isLayer && setting && setting.weights !== 'fp32' && (
          <span className="gnode__badge" style={{ background: WEIGHT_COLORS[setting.weights] }} data-testid="graph-node-bits">
            {setting.weights}
          </span>
        )}
        {pruned && (
          <span className="gnode__badge gnode__badge--prune" style={{ background: PRUNE_COLOR }} data-testid="graph-node-prune">
            {Math.round(setting.prune * 100)}%
          </span>
        )}
      </div>
      <div className="gnode__name" title={key} data-testid="graph-node-name">
        {n.sub}
      </div>
      {(shown.length > 0 || more > 0) && (
        <div className="gnode__chips">
          {shown.map((w) => (
            <div key={w.inputIndex} className={`gchip gchip--${w.role}`} title={chipTitle(w)} data-testid="graph-weight">
              <span className="gchip__role">{chipLetter(w)}</span>
              <span className="gchip__shape">
                {w.count && w.count > 1 ? `${w.count}× ` : ''}
                {shapeText(w.shape)}
              </span>
              {w.dtype !== 'float32' && <span className="gchip__dtype">{w.dtype}</span>}
            </div>
          ))}
          {more > 0 && <div className="gchip gchip--more">+{more} more</div>}
        </div>
      )}
      {n.subgraphs && n.expandId && (
        <button
          type="button"
          className={`gnode__bodies nodrag${open ? ' gnode__bodies--open' : ''}`}
          data-testid="graph-subgraph-toggle"
          onClick={(e) => {
            e.stopPropagation();
            void useGraphStore.getState().toggle(n.expandId!);
          }}
          title={open ? 'Close the bodies' : 'Open the bodies'}
        >
          <span className="gnode__caret">{open ? '▾' : '▸'}</span>
          {n.subgraphs.join(' · ')}
          <span className="gnode__count">{n.nodeCount ?? 0} nodes</span>
        </button>
      )}
    </div>
  );
});
