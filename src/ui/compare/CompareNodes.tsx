import type { NodeProps } from '@xyflow/react';
import { memo, type CSSProperties } from 'react';
import { useCompareStore } from '../../state/compare-store';
import { useSelectionStore } from '../../state/selection-store';
import { WEIGHT_TINTS } from '../recipe/colors';
import { chipLetter, chipTitle, compactCount, opCategory, shapeText } from '../graph/graph-labels';
import type { CompareBoxFlowNode, CompareGroupFlowNode, CompareOpFlowNode } from './flow-types';
import { badgeColor, KIND_COLORS, mainKind } from './kinds';

function useLit(key: string | undefined, related: readonly string[]): boolean {
  return useSelectionStore((s) => s.selectedKey !== undefined && (s.selectedKey === key || related.includes(s.selectedKey)));
}

/**
 * An op node of either side: its op, name and weights, and what compression did to it: a badge
 * (int8, int4, fp16, BN folded, +Q/DQ, removed ...), the kind's colour as the left stripe, a
 * dashed border for pruned layers, faded and struck through for removed nodes, and the added ops
 * folded onto it listed under its name.
 */
export const CompareOpNode = memo(function CompareOpNode({ data }: NodeProps<CompareOpFlowNode>) {
  const { node: n, change: c, side, related } = data;
  const lit = useLit(n.key, related);
  const kind = mainKind(c);
  const style: CSSProperties = { width: n.width, height: n.height };
  if (kind) style.borderLeftColor = c && /int4/.test(c.badge) ? badgeColor(c) : KIND_COLORS[kind];
  if (c && /int8/.test(c.badge)) style.background = WEIGHT_TINTS.int8;
  else if (c && /int4/.test(c.badge)) style.background = WEIGHT_TINTS.int4;
  else if (c?.badge === 'fp16') style.background = WEIGHT_TINTS.fp16;
  const cls = [
    'gnode',
    'cnode',
    `gnode--${opCategory(n.label)}`,
    n.isLayer ? 'gnode--layer' : '',
    kind ? `cnode--${kind}` : '',
    c?.kinds.includes('pruned') || c?.kinds.includes('channel-pruned') ? 'gnode--pruned' : '',
    lit ? 'gnode--selected' : '',
  ].join(' ');
  const shown = n.weights ?? [];
  return (
    <div
      className={cls}
      style={style}
      data-testid="compare-node"
      data-side={side}
      data-key={n.key}
      data-op={n.label}
      data-change={c ? c.kinds.join(' ') : 'unchanged'}
      data-selected={lit ? 'true' : 'false'}
      title={[n.key ?? '', ...(c?.detail ?? [])].join('\n')}
    >
      <div className="gnode__head">
        <span className="gnode__dot" />
        <span className="gnode__op">{n.label}</span>
        {c && (
          <span className="gnode__badge" style={{ background: badgeColor(c) }} data-testid="compare-badge">
            {c.badge}
          </span>
        )}
      </div>
      <div className="gnode__name">{n.sub}</div>
      {c?.addedOps && c.addedOps.length > 0 && (
        <div className="cnode__added" data-testid="compare-added">
          + {summarize(c.addedOps)}
        </div>
      )}
      {shown.length > 0 && (
        <div className="gnode__chips">
          {shown.map((w) => (
            <div key={w.inputIndex} className={`gchip gchip--${w.role}`} title={chipTitle(w)}>
              <span className="gchip__role">{chipLetter(w)}</span>
              <span className="gchip__shape">
                {w.count && w.count > 1 ? `${w.count}× ` : ''}
                {shapeText(w.shape)}
              </span>
              {w.dtype !== 'float32' && <span className="gchip__dtype">{w.dtype}</span>}
            </div>
          ))}
        </div>
      )}
    </div>
  );
});

/** "QuantizeLinear ×2, DequantizeLinear ×2" */
function summarize(ops: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const o of ops) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].map(([o, k]) => (k > 1 ? `${o} ×${k}` : o)).join(', ');
}

/** A collapsed group on either side: title, size, and how many of its layers changed. */
export const CompareGroupNode = memo(function CompareGroupNode({ data }: NodeProps<CompareGroupFlowNode>) {
  const { node: n, side, changed = 0 } = data;
  return (
    <div
      className="ggroup cgroup"
      style={{ width: n.width, height: n.height }}
      data-testid="compare-group-node"
      data-side={side}
      data-id={n.id}
      title={`${n.sub}: ${n.nodeCount} nodes\nDouble-click to open (on both sides)`}
      onDoubleClick={() => void useCompareStore.getState().toggle(side, n.id)}
    >
      <div className="ggroup__title" title={n.label}>
        {n.label}
      </div>
      <div className="ggroup__meta">
        {n.nodeCount} nodes{n.params > 0 ? ` · ${compactCount(n.params)} params` : ''}
      </div>
      {changed > 0 && (
        <div className="cgroup__changed" data-testid="compare-group-changed">
          {changed} layer{changed === 1 ? '' : 's'} changed
        </div>
      )}
    </div>
  );
});

/** An open group: a frame with a header that closes it (on both sides). */
export const CompareBoxNode = memo(function CompareBoxNode({ data }: NodeProps<CompareBoxFlowNode>) {
  const { node: n, side } = data;
  return (
    <div className={`gbox gbox--${n.groupKind ?? 'scope'} gbox--d${Math.min(n.depth, 4)}`} style={{ width: n.width, height: n.height }} data-id={n.id}>
      <div className="gbox__header" title={`${n.sub}: ${n.nodeCount} nodes`}>
        <button
          type="button"
          className="gbox__toggle nodrag"
          aria-label={`Close ${n.label}`}
          onClick={(e) => {
            e.stopPropagation();
            void useCompareStore.getState().toggle(side, n.id);
          }}
        >
          ▾
        </button>
        <span className="gbox__title" title={n.label}>
          {n.label}
        </span>
        <span className="gbox__meta">{n.nodeCount} nodes</span>
      </div>
    </div>
  );
});
