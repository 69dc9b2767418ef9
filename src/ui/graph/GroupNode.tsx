import type { NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { useGraphStore } from '../../state/graph-store';
import { useRecipeStore, type WeightsSetting } from '../../state/recipe-store';
import { PRUNE_COLOR, WEIGHT_COLORS } from '../recipe/colors';
import type { GroupFlowNode } from './flow-types';
import { compactCount } from './graph-labels';

const MODES: readonly WeightsSetting[] = ['fp32', 'fp16', 'int8', 'int4'];

/**
 * How the layers of a group are set, as a short string (stable between renders, so the node
 * re-renders only when its own tally changes): "fp32,fp16,int8,int4,pruned" counts.
 */
function useTally(keys: readonly string[] | undefined): number[] {
  const text = useRecipeStore((s) => {
    const n = [0, 0, 0, 0, 0];
    if (!keys) return '0,0,0,0,0';
    for (const k of keys) {
      const v = s.resolved[k];
      if (!v) continue;
      n[MODES.indexOf(v.weights)]++;
      if (v.prune > 0) n[4]++;
    }
    return n.join(',');
  });
  return text.split(',').map(Number);
}

/** A collapsed group: title, how much it holds, its main op types, and how its layers are set. */
export const GroupNode = memo(function GroupNode({ data }: NodeProps<GroupFlowNode>) {
  const n = data.node;
  const tally = useTally(n.layerKeys);
  const selected = useGraphStore((s) => s.selectedGroup === n.id);
  const layers = tally[0] + tally[1] + tally[2] + tally[3];
  return (
    <div
      className={`ggroup ggroup--${n.groupKind ?? 'scope'}${selected ? ' ggroup--selected' : ''}`}
      style={{ width: n.width, height: n.height }}
      data-testid="graph-group"
      data-id={n.id}
      data-count={n.nodeCount}
      title={`${n.sub}\nDouble-click to open`}
    >
      <div className="ggroup__head">
        <button
          type="button"
          className="ggroup__toggle nodrag"
          aria-label={`Open ${n.label}`}
          data-testid="graph-group-toggle"
          onClick={(e) => {
            e.stopPropagation();
            void useGraphStore.getState().toggle(n.id);
          }}
        >
          ▸
        </button>
        <span className="ggroup__title" title={n.label}>
          {n.label}
        </span>
      </div>
      <div className="ggroup__meta">
        {n.nodeCount} nodes{n.params > 0 ? ` · ${compactCount(n.params)} params` : ''}
      </div>
      <div className="ggroup__ops">{(n.opSummary ?? []).map(([op, c]) => `${op} ${c}`).join(' · ')}</div>
      {layers > 0 && (
        <div className="ggroup__bar" title={MODES.map((m, i) => `${m}: ${tally[i]}`).join(', ') + (tally[4] ? `, pruned: ${tally[4]}` : '')}>
          {MODES.map((m, i) =>
            tally[i] > 0 ? <span key={m} style={{ flexGrow: tally[i], background: WEIGHT_COLORS[m] }} /> : null,
          )}
          {tally[4] > 0 && <span className="ggroup__pruned" style={{ background: PRUNE_COLOR }} />}
        </div>
      )}
    </div>
  );
});
