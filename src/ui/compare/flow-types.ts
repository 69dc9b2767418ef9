/**
 * The compare view's xyflow node types: the scene node as the worker laid it out, with what
 * changed about it on this side. Edges are the graph view's single EdgeLayer node.
 */
import type { Node } from '@xyflow/react';
import type { SceneNode } from '../../graph/scene-types';
import type { CompareSide, NodeChange } from '../../workers/model-api';
import type { EdgeLayerFlowNode } from '../graph/flow-types';

export interface CompareNodeData extends Record<string, unknown> {
  node: SceneNode;
  side: CompareSide;
  change?: NodeChange;
  /** keys whose selection also lights this node (a folded BatchNormalization lights its Conv) */
  related: string[];
  /** groups: how many of its layers changed */
  changed?: number;
}

export type CompareOpFlowNode = Node<CompareNodeData, 'cmpOp'>;
export type CompareIoFlowNode = Node<{ node: SceneNode }, 'ioNode'>;
export type CompareGroupFlowNode = Node<CompareNodeData, 'cmpGroup'>;
export type CompareBoxFlowNode = Node<CompareNodeData, 'cmpBox'>;

export type CompareFlowNode = CompareOpFlowNode | CompareIoFlowNode | CompareGroupFlowNode | CompareBoxFlowNode | EdgeLayerFlowNode;
