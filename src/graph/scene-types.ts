/**
 * What the graph view shows, as plain data: the scene the worker lays out and the page draws.
 * Everything here crosses postMessage (structured clone), so no classes, maps or functions.
 */

/** A dimension: a number, a symbolic name, or '?' when unknown. */
export type Dim = number | string;

/** A weight (or other constant) folded into the node that uses it. */
export interface WeightChip {
  /** the stored tensor's name (initializer or Constant output) */
  name: string;
  /** the node input it reaches, and its position */
  input: string;
  inputIndex: number;
  /** 'weight' | 'bias' for layers (from src/onnx/layers.ts), 'const' for other constants */
  role: 'weight' | 'bias' | 'other' | 'const';
  dtype: string;
  /** shape of the stored tensor */
  shape: number[];
  elements: number;
  /** folded ops between the stored tensor and the node (Transpose, DequantizeLinear, ...) */
  via: string[];
  /** drawn chips only: how many constants of this dtype and shape the chip stands for */
  count?: number;
}

export type SceneNodeKind = 'op' | 'input' | 'output' | 'group' | 'box';

/** Data of one drawn node. Positions are absolute (top-left corner), in graph pixels. */
export interface SceneNode {
  /** stable id: 'n:<key>' ops, 'i:<graph>:<tensor>' inputs, 'o:<graph>:<tensor>' outputs, 'g:...' groups */
  id: string;
  kind: SceneNodeKind;
  x: number;
  y: number;
  width: number;
  height: number;
  /** op nodes: the unique node key (selection, recipe); groups: undefined */
  key?: string;
  /** op type (ops), 'Input'/'Output' (I/O), the group's title (groups, boxes) */
  label: string;
  /** a second line: the short node name, the tensor shape, or a group's path */
  sub: string;
  /** nesting depth of the enclosing expanded groups (0 = top level) */
  depth: number;
  /** ops: the folded weights it shows (weights and biases first), and how many more it has */
  weights?: WeightChip[];
  moreWeights?: number;
  /** elements of the stored tensors it uses (ops), or summed over what it holds (groups) */
  params: number;
  /** ops: whether it is a layer (has weights the recipe can compress) */
  isLayer?: boolean;
  /** ops with If/Loop/Scan bodies: attribute names of its subgraphs, and the id to expand them */
  subgraphs?: string[];
  expandId?: string;
  /** groups: op nodes inside, top op types, layer keys (for selecting a whole group) */
  nodeCount?: number;
  opSummary?: [string, number][];
  layerKeys?: string[];
  /** groups and boxes: what kind of group */
  groupKind?: GroupKind;
  /** I/O: dtype and shape */
  dtype?: string;
  shape?: Dim[] | null;
}

export type GroupKind = 'scope' | 'block' | 'control' | 'subgraph';

export interface SceneEdge {
  id: string;
  source: string;
  target: string;
  /** tensors carried (first few names); `count` is how many in all */
  tensors: string[];
  count: number;
  /** dtype and shape of the (first) tensor, when known */
  dtype?: string;
  shape?: Dim[] | null;
  /** routing points between the two ends (absolute), from the layout */
  points: { x: number; y: number }[];
  /** a dependency on a subgraph, not a tensor: drawn dashed */
  control?: boolean;
  /** the layout reversed it to break a cycle between groups */
  back?: boolean;
}

export interface GraphScene {
  nodes: SceneNode[];
  edges: SceneEdge[];
  width: number;
  height: number;
  /** expanded group ids this scene was made for (sorted) */
  expanded: string[];
  /** which layout engine laid it out, and how long layout and scene building took in the worker */
  engine: LayoutEngine;
  layoutMs: number;
  sceneMs: number;
  /** layouts computed (not taken from the cache) for this scene */
  computed: number;
}

export type LayoutEngine = 'layered' | 'elk';

export interface GraphInfo {
  /** op nodes shown (after folding weight-only nodes), over all graphs */
  nodeCount: number;
  /** nodes folded into their consumers (Constant, weight-only chains) */
  foldedCount: number;
  groupCount: number;
  edgeCount: number;
  graphCount: number;
  /** groups to expand at start so that the view fits (about 150 visible nodes) */
  initialExpanded: string[];
  buildMs: number;
}

export interface SearchHit {
  /** scene id of the node ('n:<key>') or group ('g:...') */
  id: string;
  key?: string;
  label: string;
  op: string;
  /** the groups it sits in, outermost first, as a readable path */
  path: string;
  kind: 'op' | 'group' | 'input' | 'output';
}
