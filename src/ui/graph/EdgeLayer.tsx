import type { NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { useSelectionStore } from '../../state/selection-store';
import type { GraphScene, SceneNode } from '../../graph/scene-types';
import type { EdgeLayerFlowNode, LaidEdge } from './flow-types';
import { edgeLabel, edgeTitle } from './graph-labels';

interface P {
  x: number;
  y: number;
}

/**
 * A path from the source's bottom to the target's top through the layout's bend points, as a
 * chain of vertical cubic curves (smooth, with vertical tangents at every point).
 */
export function routePath(points: readonly P[]): string {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const k = Math.max(Math.abs(b.y - a.y) / 2, b.y < a.y ? 40 : 0);
    d += ` C${a.x},${a.y + k} ${b.x},${b.y - k} ${b.x},${b.y}`;
  }
  return d;
}

/** Every edge of a scene whose ends are drawn, routed and labelled for the edge layer. */
export function laidEdges(scene: GraphScene, byId: ReadonlyMap<string, SceneNode>): LaidEdge[] {
  const edges: LaidEdge[] = [];
  for (const e of scene.edges) {
    const s = byId.get(e.source);
    const t = byId.get(e.target);
    if (!s || !t) continue;
    const pts = [{ x: s.x + s.width / 2, y: s.y + s.height }, ...e.points, { x: t.x + t.width / 2, y: t.y }];
    const mid = pts.length > 2 ? pts[Math.floor(pts.length / 2)] : { x: (pts[0].x + pts[1].x) / 2, y: (pts[0].y + pts[1].y) / 2 };
    edges.push({
      id: e.id,
      source: e.source,
      target: e.target,
      path: routePath(pts),
      label: edgeLabel(e),
      labelX: mid.x,
      labelY: mid.y,
      title: edgeTitle(e),
      control: e.control === true,
      bundle: e.count > 1,
      sourceKey: s.key,
      targetKey: t.key,
      edge: e,
    });
  }
  return edges;
}

const EdgePath = memo(function EdgePath({ e, lit }: { e: LaidEdge; lit: boolean }) {
  const cls = `gedge${e.control ? ' gedge--control' : ''}${e.bundle ? ' gedge--bundle' : ''}${lit ? ' gedge--lit' : ''}`;
  return (
    <g className={cls} data-testid="graph-edge" data-source={e.source} data-target={e.target} data-shape={e.label}>
      <title>{e.title}</title>
      <path className="gedge__hit" d={e.path} />
      <path className="gedge__path" d={e.path} markerEnd={lit ? 'url(#garrow-lit)' : e.control ? undefined : 'url(#garrow)'} />
      {e.label && (
        <text className="gedge__label" x={e.labelX} y={e.labelY} textAnchor="middle" dominantBaseline="middle">
          {e.label}
        </text>
      )}
    </g>
  );
});

/**
 * Every edge of the scene in one SVG, drawn as one xyflow node between the group frames and the
 * nodes (so frames stay behind edges and nodes stay on top). One component instead of one per
 * edge keeps a large scene cheap to mount; only the selected node's edges re-render on a click.
 */
export const EdgeLayer = memo(function EdgeLayer({ data }: NodeProps<EdgeLayerFlowNode>) {
  const selected = useSelectionStore((s) => s.selectedKey);
  const { edges, width, height } = data;
  return (
    <svg className="gedges" width={width} height={height} style={{ overflow: 'visible' }} data-testid="graph-edges">
      <defs>
        <marker id="garrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" fill="#94a3b8" />
        </marker>
        <marker id="garrow-lit" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" fill="#4f46e5" />
        </marker>
      </defs>
      {edges.map((e) => (
        <EdgePath key={e.id} e={e} lit={selected !== undefined && (e.sourceKey === selected || e.targetKey === selected)} />
      ))}
    </svg>
  );
});
