import { Background, BackgroundVariant, ReactFlow, ReactFlowProvider, type NodeMouseHandler } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useCallback, useMemo } from 'react';
import type { GraphScene, SceneNode } from '../../graph/scene-types';
import { useCompareStore } from '../../state/compare-store';
import { useSelectionStore } from '../../state/selection-store';
import type { CompareSide, NodeChange } from '../../workers/model-api';
import { EdgeLayer, laidEdges } from '../graph/EdgeLayer';
import { IoNode } from '../graph/IoNode';
import { CompareBoxNode, CompareGroupNode, CompareOpNode } from './CompareNodes';
import type { CompareFlowNode } from './flow-types';
import { READ_ONLY_FLOW } from '../graph/flow-types';

/** Defined once: xyflow re-creates every node when this object changes. */
const nodeTypes = { cmpOp: CompareOpNode, ioNode: IoNode, cmpGroup: CompareGroupNode, cmpBox: CompareBoxNode, edgeLayer: EdgeLayer };
const NONE: string[] = [];

function toFlow(scene: GraphScene, side: CompareSide, changes: Readonly<Record<string, NodeChange>>): CompareFlowNode[] {
  const related = new Map<string, string[]>();
  for (const [key, c] of Object.entries(changes)) {
    const list = [...(c.absorbed ?? []), ...(c.into && c.into !== key ? [c.into] : [])];
    if (list.length > 0) related.set(key, list);
  }
  const byId = new Map<string, SceneNode>();
  const out: CompareFlowNode[] = [];
  for (const n of scene.nodes) {
    byId.set(n.id, n);
    const base = { id: n.id, position: { x: n.x, y: n.y }, width: n.width, height: n.height, draggable: false, selectable: false, connectable: false };
    if (n.kind === 'op') {
      const change = n.key ? changes[n.key] : undefined;
      out.push({ ...base, type: 'cmpOp', zIndex: 200, data: { node: n, side, change, related: (n.key && related.get(n.key)) || NONE } });
    } else if (n.kind === 'group') {
      const changed = (n.layerKeys ?? []).filter((k) => changes[k]).length;
      out.push({ ...base, type: 'cmpGroup', zIndex: 200, data: { node: n, side, related: NONE, changed } });
    } else if (n.kind === 'box') {
      out.push({ ...base, type: 'cmpBox', zIndex: n.depth, data: { node: n, side, related: NONE } });
    } else {
      out.push({ ...base, type: 'ioNode', zIndex: 200, data: { node: n } });
    }
  }
  const edges = laidEdges(scene, byId);
  out.push({
    id: '__edges',
    type: 'edgeLayer',
    position: { x: 0, y: 0 },
    width: Math.max(scene.width, 1),
    height: Math.max(scene.height, 1),
    draggable: false,
    selectable: false,
    connectable: false,
    zIndex: 100,
    data: { edges, width: scene.width, height: scene.height },
  });
  return out;
}

export interface ComparePaneProps {
  side: CompareSide;
}

/** One side of the comparison: its graph, drawn with the viewport both sides share. */
export const ComparePane = memo(function ComparePane(props: ComparePaneProps) {
  return (
    <ReactFlowProvider>
      <PaneCanvas {...props} />
    </ReactFlowProvider>
  );
});

const EMPTY_CHANGES: Record<string, NodeChange> = {};

function PaneCanvas({ side }: ComparePaneProps) {
  const viewport = useCompareStore((s) => s.viewport);
  const onViewportChange = useCompareStore((s) => s.setViewport);
  const scene = useCompareStore((s) => s.scenes[side]);
  const changes = useCompareStore((s) => s.info?.diff[side] ?? EMPTY_CHANGES);
  const nodes = useMemo(() => (scene ? toFlow(scene, side, changes) : []), [scene, side, changes]);
  const onNodeClick: NodeMouseHandler<CompareFlowNode> = useCallback((_e, node) => {
    if (node.type !== 'cmpOp') return;
    const key = node.data.node.key;
    if (!key) return;
    const sel = useSelectionStore.getState();
    sel.select(key);
    sel.setMulti([]);
  }, []);
  const onNodeDoubleClick: NodeMouseHandler<CompareFlowNode> = useCallback(
    (_e, node) => {
      if (node.type === 'cmpBox' || node.type === 'cmpGroup') void useCompareStore.getState().toggle(side, node.id);
    },
    [side],
  );
  const onPaneClick = useCallback(() => useSelectionStore.getState().select(undefined), []);
  const count = scene?.nodes.filter((n) => n.kind === 'op').length ?? 0;
  return (
    <div className="compare-pane" data-testid={`compare-pane-${side}`} data-side={side} data-nodes={count}>
      <div className="compare-pane__title">{side === 'original' ? 'Original' : 'Compressed'}</div>
      <ReactFlow<CompareFlowNode>
        nodes={nodes}
        nodeTypes={nodeTypes}
        viewport={viewport}
        onViewportChange={onViewportChange}
        onNodeClick={onNodeClick}
        onNodeDoubleClick={onNodeDoubleClick}
        onPaneClick={onPaneClick}
        {...READ_ONLY_FLOW}
        onlyRenderVisibleElements={nodes.length > 400}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1} color="#d7dbe6" />
      </ReactFlow>
    </div>
  );
}
