import type { NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { useGraphStore } from '../../state/graph-store';
import type { BoxFlowNode } from './flow-types';
import { compactCount } from './graph-labels';

/** An open group: a frame around its members, with a header that closes it. */
export const BoxNode = memo(function BoxNode({ data }: NodeProps<BoxFlowNode>) {
  const n = data.node;
  const selected = useGraphStore((s) => s.selectedGroup === n.id);
  return (
    <div
      className={`gbox gbox--${n.groupKind ?? 'scope'} gbox--d${Math.min(n.depth, 4)}${selected ? ' gbox--selected' : ''}`}
      style={{ width: n.width, height: n.height }}
      data-testid="graph-box"
      data-id={n.id}
    >
      <div
        className="gbox__header"
        title={`${n.sub}: ${n.nodeCount} nodes${n.params > 0 ? `, ${compactCount(n.params)} params` : ''}\nDouble-click to close`}
      >
        <button
          type="button"
          className="gbox__toggle nodrag"
          aria-label={`Close ${n.label}`}
          data-testid="graph-box-toggle"
          onClick={(e) => {
            e.stopPropagation();
            void useGraphStore.getState().toggle(n.id);
          }}
        >
          ▾
        </button>
        <span className="gbox__title" title={n.label}>
          {n.label}
        </span>
        <span className="gbox__meta">
          {n.nodeCount} nodes{n.params > 0 && n.width >= 300 ? ` · ${compactCount(n.params)} params` : ''}
        </span>
      </div>
    </div>
  );
});
