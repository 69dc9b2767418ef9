import type { NodeProps } from '@xyflow/react';
import { memo } from 'react';
import type { IoFlowNode } from './flow-types';
import { shapeText } from './graph-labels';

/** A graph input or output: the tensor's name, dtype and shape. */
export const IoNode = memo(function IoNode({ data }: NodeProps<IoFlowNode>) {
  const n = data.node;
  const kind = n.kind === 'input' ? 'input' : 'output';
  return (
    <div
      className={`gio gio--${kind}`}
      style={{ width: n.width, height: n.height }}
      data-testid="graph-io"
      data-kind={kind}
      data-name={n.label}
      title={`${kind} ${n.label}: ${n.dtype ?? '?'} ${shapeText(n.shape)}`}
    >
      <div className="gio__name">
        <span className="gio__kind">{kind === 'input' ? 'IN' : 'OUT'}</span>
        {n.label}
      </div>
      <div className="gio__type">
        {n.dtype ?? '?'} {shapeText(n.shape)}
      </div>
    </div>
  );
});
