/**
 * The xyflow node types of the graph view. Node data is the scene node as the worker laid it out;
 * components never receive callbacks through data (they call the stores directly), so memoised
 * components re-render only when their own data or store slice changes. Edges are not xyflow
 * edges: they are drawn together by one EdgeLayer node (see EdgeLayer.tsx).
 */
import type { Node } from '@xyflow/react';
import type { SceneEdge, SceneNode } from '../../graph/scene-types';

export type OpFlowNode = Node<{ node: SceneNode }, 'opNode'>;
export type IoFlowNode = Node<{ node: SceneNode }, 'ioNode'>;
export type GroupFlowNode = Node<{ node: SceneNode }, 'groupNode'>;
export type BoxFlowNode = Node<{ node: SceneNode }, 'boxNode'>;

/** An edge ready to draw: its SVG path, label and where the label goes. */
export interface LaidEdge {
  id: string;
  source: string;
  target: string;
  path: string;
  label: string;
  labelX: number;
  labelY: number;
  title: string;
  control: boolean;
  bundle: boolean;
  /** layer keys at either end (the selected node's edges are highlighted) */
  sourceKey?: string;
  targetKey?: string;
  edge: SceneEdge;
}
export type EdgeLayerFlowNode = Node<{ edges: LaidEdge[]; width: number; height: number }, 'edgeLayer'>;

export type FlowNode = OpFlowNode | IoFlowNode | GroupFlowNode | BoxFlowNode | EdgeLayerFlowNode;

/** The canvas settings both graph views share: a read-only diagram (no dragging, connecting or xyflow selection), zoomable far out. */
export const READ_ONLY_FLOW = {
  nodesDraggable: false,
  nodesConnectable: false,
  nodesFocusable: false,
  elementsSelectable: false,
  zoomOnDoubleClick: false,
  disableKeyboardA11y: true,
  minZoom: 0.02,
  maxZoom: 2.5,
  proOptions: { hideAttribution: true },
} as const;
