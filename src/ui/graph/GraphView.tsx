import {
  Background,
  BackgroundVariant,
  ControlButton,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useNodesInitialized,
  useReactFlow,
  type NodeMouseHandler,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { startTransition, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import type { GraphScene, SceneNode, SearchHit } from '../../graph/scene-types';
import { useGraphStore } from '../../state/graph-store';
import { useSelectionStore } from '../../state/selection-store';
import { BoxNode } from './BoxNode';
import { EdgeLayer, laidEdges } from './EdgeLayer';
import { READ_ONLY_FLOW, type FlowNode } from './flow-types';
import { groupDigits } from './graph-labels';
import { GraphExportButtons } from './GraphExportButtons';
import { GraphLegend } from './GraphLegend';
import { GraphSearch } from './GraphSearch';
import { GroupNode } from './GroupNode';
import { IoNode } from './IoNode';
import { OpNode } from './OpNode';
import './graph.css';

/** Defined once: xyflow re-creates every node when this object changes. */
const nodeTypes = { opNode: OpNode, ioNode: IoNode, groupNode: GroupNode, boxNode: BoxNode, edgeLayer: EdgeLayer };
const EMPTY: Flow = { nodes: [], reused: 0 };
/** New nodes mounted per frame: xyflow mounts nodes synchronously, so a big scene is added in steps. */
const CHUNK = 20;
/** Above this many nodes only what is on screen is rendered. */
const VIRTUALIZE_ABOVE = 400;
const EDGE_LAYER = '__edges';

interface Flow {
  nodes: FlowNode[];
  /** how many leading nodes were shown before (kept or moved); the rest are new */
  reused: number;
}

/** What a node component draws, apart from where: equal signatures keep the data object. */
const signature = (n: SceneNode) => `${n.kind}|${n.width}|${n.height}|${n.depth}|${n.label}|${n.nodeCount ?? ''}`;

/**
 * The scene as xyflow nodes. A node that was shown before keeps its object when it did not move,
 * and its data object when only its position changed, so xyflow and the memoised components skip
 * it; nodes shown before come first, new ones after (they are mounted in chunks), the edge layer
 * last.
 */
function toFlow(scene: GraphScene, previous: ReadonlyMap<string, FlowNode>): Flow {
  const byId = new Map<string, SceneNode>();
  for (const n of scene.nodes) byId.set(n.id, n);
  const known: FlowNode[] = [];
  const fresh: FlowNode[] = [];
  for (const n of scene.nodes) {
    const old = previous.get(n.id);
    if (!old || old.type === 'edgeLayer' || signature(old.data.node) !== signature(n)) {
      fresh.push(flowNode(n));
    } else if (old.position.x === n.x && old.position.y === n.y) {
      known.push(old);
    } else {
      known.push({ ...old, position: { x: n.x, y: n.y } } as FlowNode);
    }
  }
  const nodes = [...known, ...fresh];
  nodes.push(edgeLayer(scene, byId));
  return { nodes, reused: known.length };
}

function flowNode(n: SceneNode): FlowNode {
  const base = {
    id: n.id,
    position: { x: n.x, y: n.y },
    width: n.width,
    height: n.height,
    draggable: false,
    selectable: false,
    connectable: false,
    data: { node: n },
  };
  switch (n.kind) {
    case 'box':
      return { ...base, type: 'boxNode', zIndex: n.depth };
    case 'group':
      return { ...base, type: 'groupNode', zIndex: 200 };
    case 'op':
      return { ...base, type: 'opNode', zIndex: 200 };
    default:
      return { ...base, type: 'ioNode', zIndex: 200 };
  }
}

function edgeLayer(scene: GraphScene, byId: ReadonlyMap<string, SceneNode>): FlowNode {
  const edges = laidEdges(scene, byId);
  // One node draws every edge: above the group frames (z = depth), below the nodes (z = 200).
  return {
    id: EDGE_LAYER,
    type: 'edgeLayer',
    position: { x: 0, y: 0 },
    width: Math.max(scene.width, 1),
    height: Math.max(scene.height, 1),
    draggable: false,
    selectable: false,
    connectable: false,
    zIndex: 100,
    data: { edges, width: scene.width, height: scene.height },
  };
}

const findNode = (scene: GraphScene | undefined, id: string): SceneNode | undefined =>
  scene?.nodes.find((n) => n.id === id || n.expandId === id);

function minimapColor(node: FlowNode): string {
  switch (node.type) {
    case 'edgeLayer':
      return 'transparent';
    case 'boxNode':
      return 'rgba(99, 102, 241, 0.08)';
    case 'groupNode':
      return '#a5b4fc';
    case 'ioNode':
      return '#6ee7b7';
    default:
      return 'node' in node.data && node.data.node.isLayer ? '#64748b' : '#cbd5e1';
  }
}

/**
 * The part of the pane a fit may use: below the toolbar (top-left) and above the legend
 * (bottom-centre), measured when they are drawn (before, their usual sizes), so that a fitted
 * graph never lies under them: the input node at the top stays clear of the toolbar.
 */
function roomOf(el: HTMLElement): { top: number; bottom: number; side: number } {
  const box = el.getBoundingClientRect();
  const toolbar = el.querySelector('.gtoolbar')?.getBoundingClientRect();
  const legend = el.querySelector('.glegend')?.getBoundingClientRect();
  return {
    top: toolbar && toolbar.height > 0 ? toolbar.bottom - box.top + 12 : 64,
    bottom: legend && legend.height > 0 ? box.bottom - legend.top + 8 : 56,
    side: 24,
  };
}

/** The viewport that shows `r` (graph coordinates) whole in the room left by the toolbar and legend, at most at `maxZoom`. */
function viewportFitting(
  r: { x: number; y: number; width: number; height: number },
  pane: { width: number; height: number },
  room: { top: number; bottom: number; side: number },
  maxZoom: number,
): { x: number; y: number; zoom: number } {
  const w = Math.max(1, pane.width - 2 * room.side);
  const h = Math.max(1, pane.height - room.top - room.bottom);
  const zoom = Math.max(0.02, Math.min(maxZoom, w / Math.max(r.width, 1), h / Math.max(r.height, 1)));
  return { x: room.side + (w - r.width * zoom) / 2 - r.x * zoom, y: room.top + (h - r.height * zoom) / 2 - r.y * zoom, zoom };
}

/** The model's graph: laid out in the model worker, drawn here with xyflow. */
export function GraphView() {
  return (
    <ReactFlowProvider>
      <GraphCanvas />
    </ReactFlowProvider>
  );
}

/**
 * The worker starts building the graph at once; xyflow mounts meanwhile in a task of its own,
 * after the studio's first frame is painted (so the page's first layout is not forced inside it),
 * and its cost overlaps the worker's. True once xyflow may mount.
 */
function useCanvasMount(): boolean {
  const [canvas, setCanvas] = useState(false);
  useEffect(() => {
    void useGraphStore.getState().start();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => startTransition(() => setCanvas(true)), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      if (timer !== undefined) clearTimeout(timer);
      useGraphStore.getState().reset();
    };
  }, []);

  return canvas;
}

/**
 * The scene as xyflow nodes, mounted a chunk per frame; `initialized` once the whole scene is on
 * screen (every node measured, or a frame after the update when rendering is virtualised).
 */
function useChunkedFlow(scene: GraphScene | undefined): { shown: FlowNode[]; virtualized: boolean; initialized: boolean; chrome: boolean } {
  // Every node measured (handles found) means the scene is on screen; with virtualised
  // rendering only the visible ones ever are, so a frame after the update is taken instead.
  const measured = useNodesInitialized({ includeHiddenNodes: true });
  const [framed, setFramed] = useState<GraphScene | undefined>(undefined);
  // The last mounted nodes, reused by identity so unchanged nodes do not re-render (a stable
  // container held in state: read while computing the next flow, written after it mounts).
  const [previous] = useState(() => new Map<string, FlowNode>());
  const flow = useMemo(() => (scene ? toFlow(scene, previous) : EMPTY), [scene, previous]);
  useEffect(() => {
    previous.clear();
    for (const n of flow.nodes) previous.set(n.id, n);
  }, [flow, previous]);
  // Mount new nodes a chunk per frame (each chunk is one short task), the edges last.
  const [chunk, setChunk] = useState<{ flow: Flow; limit: number }>({ flow: EMPTY, limit: 0 });
  const limit = chunk.flow === flow ? chunk.limit : flow.reused + CHUNK;
  const complete = limit >= flow.nodes.length;
  useEffect(() => {
    if (complete) return;
    const id = requestAnimationFrame(() => startTransition(() => setChunk({ flow, limit: limit + CHUNK })));
    return () => cancelAnimationFrame(id);
  }, [flow, limit, complete]);
  const shown = useMemo(() => (complete ? flow.nodes : flow.nodes.slice(0, limit)), [flow, limit, complete]);
  const virtualized = flow.nodes.length > VIRTUALIZE_ABOVE;
  useEffect(() => {
    if (!complete) return;
    let id = requestAnimationFrame(() => {
      id = requestAnimationFrame(() => setFramed(scene));
    });
    return () => cancelAnimationFrame(id);
  }, [scene, complete]);
  // The minimap, controls and panels mount a frame after the first scene is drawn (their own task).
  const [chrome, setChrome] = useState(false);
  useEffect(() => {
    if (chrome || !complete || !scene) return;
    const id = requestAnimationFrame(() => startTransition(() => setChrome(true)));
    return () => cancelAnimationFrame(id);
  }, [chrome, complete, scene]);
  const initialized = framed === scene && complete && chrome && (virtualized || measured);

  return { shown, virtualized, initialized, chrome };
}

/**
 * Where to look: a fitting view for the first scene; after an expand or collapse the toggled
 * group stays where it was on screen; a search result is zoomed to.
 */
function useViewportFocus(
  scene: GraphScene | undefined,
  focus: ReturnType<typeof useGraphStore.getState>['focus'],
  canvas: boolean,
  wrapper: RefObject<HTMLDivElement | null>,
  fitAll: () => void,
): void {
  const rf = useReactFlow<FlowNode>();
  const prevScene = useRef<GraphScene | undefined>(undefined);
  const handledFocus = useRef(0);
  useEffect(() => {
    // xyflow mounts in a task of its own: a scene that comes first (a small model) waits for it,
    // or its first view would be set on no viewport and the graph left at the origin, under the toolbar
    if (!scene || !canvas) return;
    const prev = prevScene.current;
    prevScene.current = scene;
    const el = wrapper.current;
    if (!prev && el) {
      // room for the toolbar above and the legend below
      const pad = 32;
      const { top, bottom } = roomOf(el);
      const w = el.clientWidth;
      const h = el.clientHeight;
      const fit = Math.min((w - 2 * pad) / Math.max(scene.width, 1), (h - top - bottom) / Math.max(scene.height, 1), 1);
      if (fit >= 0.55) {
        void rf.setViewport({ x: (w - scene.width * fit) / 2, y: top + (h - top - bottom - scene.height * fit) / 2, zoom: fit });
      } else {
        const zoom = Math.max(0.3, Math.min(0.85, (w - 2 * pad) / Math.max(scene.width, 1)));
        const x = scene.width * zoom < w - 2 * pad ? (w - scene.width * zoom) / 2 : pad;
        void rf.setViewport({ x, y: top, zoom });
      }
    }
    if (!focus || focus.seq === handledFocus.current) return;
    handledFocus.current = focus.seq;
    const now = findNode(scene, focus.id);
    if (!now) {
      if (focus.mode === 'zoom' && !focus.id) fitAll();
      return;
    }
    if (focus.mode === 'anchor') {
      const before = prev ? findNode(prev, focus.id) : undefined;
      if (!before) return;
      const vp = rf.getViewport();
      // keep its top edge and its horizontal centre where they were on screen
      const dx = now.x + now.width / 2 - (before.x + before.width / 2);
      const anchored = { x: vp.x - dx * vp.zoom, y: vp.y - (now.y - before.y) * vp.zoom, zoom: vp.zoom };
      const el = wrapper.current;
      if (before.kind === 'op' && now.kind === 'box' && el) {
        // an If/Loop body (or a group) was opened: refit so that all of it is in view, zooming out
        // when it is larger than the pane, never in further than before
        const room = roomOf(el);
        const pane = { width: el.clientWidth, height: el.clientHeight };
        const fitted = viewportFitting(now, pane, room, vp.zoom);
        const inView =
          fitted.zoom >= vp.zoom &&
          anchored.x + now.x * vp.zoom >= room.side &&
          anchored.x + (now.x + now.width) * vp.zoom <= pane.width - room.side &&
          anchored.y + now.y * vp.zoom >= room.top &&
          anchored.y + (now.y + now.height) * vp.zoom <= pane.height - room.bottom;
        void rf.setViewport(inView ? anchored : fitted, { duration: inView ? 0 : 250 });
      } else {
        void rf.setViewport(anchored);
      }
    } else {
      const zoom = Math.max(rf.getViewport().zoom, 1);
      void rf.setCenter(now.x + now.width / 2, now.y + Math.min(now.height, 400) / 2, { zoom, duration: 300 });
    }
  }, [scene, focus, rf, fitAll, canvas, wrapper]);

}

/** Ctrl+K or / opens the search, F fits the view, Escape closes the search. */
function useGraphKeys(setSearchOpen: (open: boolean) => void, fitAll: () => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const typing = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSearchOpen(true);
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        e.preventDefault();
        setSearchOpen(true);
      } else if (e.key === 'f' || e.key === 'F') {
        e.preventDefault();
        fitAll();
      } else if (e.key === 'Escape') {
        setSearchOpen(false);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [fitAll, setSearchOpen]);

}

/** Click selects (shift/ctrl adds), a group's click selects its layers, double click opens or zooms. */
function useNodeHandlers(): { onNodeClick: NodeMouseHandler<FlowNode>; onNodeDoubleClick: NodeMouseHandler<FlowNode>; onPaneClick: () => void } {
  const rf = useReactFlow<FlowNode>();
  const onNodeClick: NodeMouseHandler<FlowNode> = useCallback((event, node) => {
    if (node.type === 'edgeLayer') return;
    const n = node.data.node;
    const sel = useSelectionStore.getState();
    const graph = useGraphStore.getState();
    const additive = event.shiftKey || event.ctrlKey || event.metaKey;
    const onHeader = (event.target as HTMLElement).closest?.('.gbox__header') !== null;
    if (n.kind === 'op' && n.key) {
      graph.selectGroup(undefined);
      if (additive) {
        const base = sel.multiKeys.length === 0 && sel.selectedKey && sel.selectedKey !== n.key ? [sel.selectedKey] : sel.multiKeys;
        sel.setMulti(base.includes(n.key) ? base.filter((k) => k !== n.key) : [...base, n.key]);
      } else {
        sel.select(n.key);
        sel.setMulti([]);
      }
    } else if (n.kind === 'group' || (n.kind === 'box' && onHeader)) {
      // A group selects its layers, for bulk edits in the inspector.
      const keys = n.layerKeys ?? [];
      graph.selectGroup(n.id);
      if (additive) sel.setMulti([...new Set([...sel.multiKeys, ...keys])]);
      else {
        sel.select(undefined);
        sel.setMulti(keys);
      }
    } else if (!additive) {
      graph.selectGroup(undefined);
      sel.select(undefined);
      sel.setMulti([]);
    }
  }, []);

  const onNodeDoubleClick: NodeMouseHandler<FlowNode> = useCallback(
    (event, node) => {
      if (node.type === 'edgeLayer') return;
      const n = node.data.node;
      const onHeader = (event.target as HTMLElement).closest?.('.gbox__header') !== null;
      if (n.kind === 'group' || (n.kind === 'box' && onHeader)) void useGraphStore.getState().toggle(n.id);
      else if (n.kind === 'op' && n.expandId) void useGraphStore.getState().toggle(n.expandId);
      else if (n.kind === 'op') {
        void rf.setCenter(node.position.x + n.width / 2, node.position.y + n.height / 2, { zoom: Math.max(rf.getViewport().zoom, 1.2), duration: 250 });
      }
    },
    [rf],
  );

  const onPaneClick = useCallback(() => {
    useGraphStore.getState().selectGroup(undefined);
    const sel = useSelectionStore.getState();
    sel.select(undefined);
    sel.setMulti([]);
  }, []);

  return { onNodeClick, onNodeDoubleClick, onPaneClick };
}

/** The background, minimap, controls, toolbar and legend (mounted a frame after the first scene). */
function GraphChrome({
  info,
  scene,
  onSearch,
  onZoomToSelection,
  onFit,
}: {
  info: ReturnType<typeof useGraphStore.getState>['info'];
  scene: GraphScene | undefined;
  onSearch: () => void;
  onZoomToSelection: () => void;
  onFit: () => void;
}) {
  return (
    <>
      <Background variant={BackgroundVariant.Dots} gap={20} size={1} color="#d7dbe6" />
      <MiniMap<FlowNode> pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} maskColor="rgba(241, 243, 249, 0.65)" />
      <Controls showInteractive={false} position="bottom-left">
        <ControlButton onClick={onSearch} title="Search (Ctrl+K or /)" aria-label="Search">
          <span className="gctl">⌕</span>
        </ControlButton>
        <ControlButton onClick={onZoomToSelection} title="Zoom to the selected node" aria-label="Zoom to selection">
          <span className="gctl">◎</span>
        </ControlButton>
      </Controls>
      <Panel position="top-left" className="gtoolbar">
        {info && (
          <span className="gtoolbar__stats" data-testid="graph-stats">
            <strong>{groupDigits(info.nodeCount)}</strong> nodes
            {info.foldedCount > 0 && <> · {groupDigits(info.foldedCount)} constants folded</>}
            {scene && <> · {scene.nodes.filter((n) => n.kind !== 'box').length} shown</>}
          </span>
        )}
        <button type="button" className="gtoolbar__button" data-testid="graph-search-open" onClick={onSearch}>
          Search <kbd>Ctrl K</kbd>
        </button>
        <button type="button" className="gtoolbar__button" data-testid="graph-fit" onClick={onFit}>
          Fit <kbd>F</kbd>
        </button>
        {info && (
          <button type="button" className="gtoolbar__button" data-testid="graph-reset" onClick={() => void useGraphStore.getState().resetView()}>
            Reset
          </button>
        )}
        <GraphExportButtons />
      </Panel>
      <Panel position="bottom-center" className="glegend">
        <GraphLegend />
      </Panel>
    </>
  );
}

function GraphCanvas() {
  // A new scene renders as a transition (time-sliced, so no long task), as do the chunks below.
  const scene = useDeferredValue(useGraphStore((s) => s.scene));
  // deferred together with the scene: a focus set with a new scene must meet that scene
  const focus = useDeferredValue(useGraphStore((s) => s.focus));
  const phase = useGraphStore((s) => s.phase);
  const busy = useGraphStore((s) => s.busy > 0);
  const error = useGraphStore((s) => s.error);
  const info = useGraphStore((s) => s.info);
  const [searchOpen, setSearchOpen] = useState(false);
  const rf = useReactFlow<FlowNode>();
  const wrapper = useRef<HTMLDivElement>(null);

  const canvas = useCanvasMount();

  const { shown, virtualized, initialized, chrome } = useChunkedFlow(scene);

  /** Fits the whole graph (Fit, F, a reset) in the room the toolbar and legend leave. */
  const fitAll = useCallback(() => {
    const el = wrapper.current;
    const sc = useGraphStore.getState().scene;
    if (!el || !sc) return;
    void rf.setViewport(viewportFitting({ x: 0, y: 0, width: sc.width, height: sc.height }, { width: el.clientWidth, height: el.clientHeight }, roomOf(el), 1), { duration: 250 });
  }, [rf]);

  useViewportFocus(scene, focus, canvas, wrapper, fitAll);

  // A node selected elsewhere (the inspector, a search) is brought into view when hidden.
  const selectedKey = useSelectionStore((s) => s.selectedKey);
  useEffect(() => {
    if (!selectedKey || !scene) return;
    if (scene.nodes.some((n) => n.key === selectedKey)) return;
    void useGraphStore.getState().reveal(`n:${selectedKey}`);
  }, [selectedKey, scene]);

  useGraphKeys(setSearchOpen, fitAll);

  const { onNodeClick, onNodeDoubleClick, onPaneClick } = useNodeHandlers();

  const onPick = useCallback((hit: SearchHit) => {
    setSearchOpen(false);
    const sel = useSelectionStore.getState();
    if (hit.key) {
      sel.select(hit.key);
      sel.setMulti([]);
      useGraphStore.getState().selectGroup(undefined);
    }
    void useGraphStore.getState().reveal(hit.id);
  }, []);

  const zoomToSelection = useCallback(() => {
    const key = useSelectionStore.getState().selectedKey;
    if (key) void useGraphStore.getState().reveal(`n:${key}`);
  }, []);

  const state = phase === 'error' ? 'error' : phase === 'ready' && !busy && initialized ? 'ready' : 'busy';
  useEffect(() => {
    if (state === 'ready') performance.mark('graph:ready');
  }, [state, scene]);
  return (
    <div
      className="graph-view"
      data-testid="graph-view"
      data-state={state}
      data-visible={scene?.nodes.length ?? 0}
      data-total={info?.nodeCount ?? 0}
      data-engine={scene?.engine}
      data-build-ms={info ? Math.round(info.buildMs) : undefined}
      data-layout-ms={scene ? Math.round(scene.layoutMs) : undefined}
      data-scene-ms={scene ? Math.round(scene.sceneMs) : undefined}
      ref={wrapper}
      // The pane pans by its own transform; never let focus or scrollIntoView scroll the frame.
      onScroll={(e) => {
        if (e.currentTarget.scrollTop !== 0 || e.currentTarget.scrollLeft !== 0) e.currentTarget.scrollTo(0, 0);
      }}
    >
      {canvas && (
        <ReactFlow<FlowNode>
          nodes={shown}
          nodeTypes={nodeTypes}
          onNodeClick={onNodeClick}
          onNodeDoubleClick={onNodeDoubleClick}
          onPaneClick={onPaneClick}
          {...READ_ONLY_FLOW}
          onlyRenderVisibleElements={virtualized}
        >
          {chrome && <GraphChrome info={info} scene={scene} onSearch={() => setSearchOpen(true)} onZoomToSelection={zoomToSelection} onFit={fitAll} />}
        </ReactFlow>
      )}
      {searchOpen && <GraphSearch onPick={onPick} onClose={() => setSearchOpen(false)} />}
      {phase === 'building' && (
        <div className="gstatus" data-testid="graph-building">
          <span className="gstatus__spinner" /> Laying out the graph…
        </div>
      )}
      {error && (
        <div className="gstatus gstatus--error" data-testid="graph-error">
          {error}
        </div>
      )}
    </div>
  );
}
