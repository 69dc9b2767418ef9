/**
 * A focused layered (Sugiyama) layout, top to bottom, for one level of the graph (the items of
 * one expanded group). Iterative and near-linear, so it handles thousands of nodes in a worker
 * without deep recursion (elkjs overflows a worker's stack at a few thousand nodes, see
 * docs/GRAPH.md).
 *
 * 1. Cycles: the input order is a topological order of the nodes (rank order); an edge that
 *    points backwards in it is reversed (group-level edges can form cycles).
 * 2. Layers: longest path from the sources, then nodes with at least as many outputs as inputs
 *    move down next to their first consumer (shorter edges for shape chains and late inputs).
 * 3. Long edges get dummy nodes; edges leaving one node share one dummy chain (a trunk that
 *    branches at each target), so fan-out (a residual stream, an attention mask) costs one column.
 * 4. Order in each layer: barycenter sweeps down and up, keeping the order with fewest crossings
 *    (counted with an accumulator tree).
 * 5. x: alternate passes pull each node to the weighted mean of its neighbours in the previous
 *    (or next) layer, solved exactly per layer under the order and spacing constraints by the
 *    pool-adjacent-violators algorithm; dummy chains weigh more so long edges run straight.
 * 6. y: each layer is as tall as its tallest node, nodes centred in it.
 */

export interface LayoutNodeInput {
  width: number;
  height: number;
  /**
   * A virtual node pinned to the top (-1) or bottom (+1) layer: where an edge enters or leaves a
   * group's frame. Layers holding only such nodes take less room.
   */
  pin?: -1 | 1;
}

export interface LayoutEdgeInput {
  source: number;
  target: number;
  /** how many tensors it stands for (pulls harder in the x passes) */
  weight?: number;
}

export interface LayoutOptions {
  /** horizontal space between neighbours in a layer */
  nodeGap: number;
  /** vertical space between layers */
  layerGap: number;
  /** barycenter sweeps (down + up count as two) */
  sweeps: number;
  /** x placement passes */
  passes: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeGap: 28, layerGap: 44, sweeps: 8, passes: 24 };

export interface Point {
  x: number;
  y: number;
}

export interface LayoutResult {
  /** top-left corners */
  x: number[];
  y: number[];
  width: number;
  height: number;
  /** per input edge: the bend points between its ends, in source -> target direction */
  routes: Point[][];
  /** per input edge: whether the layout reversed it to break a cycle */
  reversed: boolean[];
  /** layer of each node */
  layer: number[];
}

const DUMMY_WIDTH = 6;
const DUMMY_GAP = 10;
/** the gap next to a row of entry/exit points */
const VIRTUAL_GAP = 18;

/** Lays out nodes (in a topological or near-topological order) and edges between them. */
export function layeredLayout(
  nodes: readonly LayoutNodeInput[],
  edges: readonly LayoutEdgeInput[],
  options: Partial<LayoutOptions> = {},
): LayoutResult {
  const opt = { ...DEFAULT_LAYOUT, ...options };
  const n = nodes.length;
  const fwd = mergeForwardEdges(n, edges);
  const { layer, L } = assignLayers(nodes, fwd);
  const g = properGraph(nodes, fwd, layer);
  const layers = orderLayers(g, L, opt.sweeps);
  const xc = placeX(g, layers, opt);
  return finish(nodes, edges, fwd, g, layer, xc, L, opt);
}

/** Step 1: forward edges (an edge pointing backwards in the input order is reversed), merged. */
interface ForwardEdges {
  mSource: number[];
  mTarget: number[];
  mWeight: number[];
  /** per input edge: its merged edge, or -1 (a self loop or out of range) */
  edgeMerged: number[];
  reversed: boolean[];
  outOf: number[][];
  inOf: number[][];
}
function mergeForwardEdges(n: number, edges: readonly LayoutEdgeInput[]): ForwardEdges {
  const merged = new Map<number, number>();
  const mSource: number[] = [];
  const mTarget: number[] = [];
  const mWeight: number[] = [];
  const edgeMerged: number[] = new Array<number>(edges.length).fill(-1);
  const reversed: boolean[] = new Array<boolean>(edges.length).fill(false);
  edges.forEach((e, i) => {
    let s = e.source;
    let t = e.target;
    if (s === t || s < 0 || t < 0 || s >= n || t >= n) return;
    if (s > t) {
      [s, t] = [t, s];
      reversed[i] = true;
    }
    const key = s * n + t;
    let m = merged.get(key);
    if (m === undefined) {
      m = mSource.length;
      merged.set(key, m);
      mSource.push(s);
      mTarget.push(t);
      mWeight.push(0);
    }
    mWeight[m] += e.weight ?? 1;
    edgeMerged[i] = m;
  });
  const M = mSource.length;
  const outOf: number[][] = Array.from({ length: n }, () => []);
  const inOf: number[][] = Array.from({ length: n }, () => []);
  for (let m = 0; m < M; m++) {
    outOf[mSource[m]].push(m);
    inOf[mTarget[m]].push(m);
  }
  return { mSource, mTarget, mWeight, edgeMerged, reversed, outOf, inOf };
}

/** Step 2: layers (longest path, then nodes moved down next to their first consumer; exits last). */
function assignLayers(nodes: readonly LayoutNodeInput[], fwd: ForwardEdges): { layer: number[]; L: number } {
  const n = nodes.length;
  const { outOf, inOf, mTarget } = fwd;
  const layer = new Array<number>(n).fill(0);
  for (let v = 0; v < n; v++) for (const m of outOf[v]) layer[mTarget[m]] = Math.max(layer[mTarget[m]], layer[v] + 1);
  const pin = (v: number) => nodes[v].pin ?? 0;
  for (let v = n - 1; v >= 0; v--) {
    if (pin(v) !== 0 || outOf[v].length === 0 || outOf[v].length < inOf[v].length) continue;
    let lowest = Infinity;
    for (const m of outOf[v]) lowest = Math.min(lowest, layer[mTarget[m]]);
    if (lowest - 1 > layer[v]) layer[v] = lowest - 1;
  }
  let L = 0;
  for (let v = 0; v < n; v++) if (pin(v) !== 1) L = Math.max(L, layer[v] + 1);
  // exits sit below everything else, in one row of their own
  let anyExit = false;
  for (let v = 0; v < n; v++) {
    if (pin(v) === 1) {
      layer[v] = L;
      anyExit = true;
    }
  }
  if (anyExit) L++;
  return { layer, L };
}

/** Step 3's result: the proper layered graph, real nodes 0..n-1 then dummies. */
interface ProperGraph {
  n: number;
  nodeLayer: number[];
  width: number[];
  height: number[];
  /** the real node a dummy belongs to (its source), for the initial order */
  owner: number[];
  up: number[][];
  down: number[][];
  upW: number[][];
  downW: number[][];
  /** path (node ids, top to bottom) of each merged edge */
  mPath: number[][];
}

/** Step 3: dummy chains (one per source, shared by its long edges) and the proper layered graph. */
function properGraph(nodes: readonly LayoutNodeInput[], fwd: ForwardEdges, layer: readonly number[]): ProperGraph {
  const n = nodes.length;
  const { outOf, mTarget, mWeight } = fwd;
  const g: ProperGraph = {
    n,
    nodeLayer: layer.slice(),
    width: nodes.map((v) => v.width),
    height: nodes.map((v) => v.height),
    owner: Array.from({ length: n }, (_, i) => i),
    up: Array.from({ length: n }, () => []),
    down: Array.from({ length: n }, () => []),
    upW: Array.from({ length: n }, () => []),
    downW: Array.from({ length: n }, () => []),
    mPath: new Array<number[]>(fwd.mSource.length),
  };
  const { nodeLayer, width, height, owner, up, down, upW, downW, mPath } = g;
  const segSeen = new Map<number, number>();
  const link = (a: number, b: number, w: number) => {
    // a is in the layer above b
    const key = a * 1_000_003 + b;
    const at = segSeen.get(key);
    if (at !== undefined) {
      const i = down[a].indexOf(b);
      downW[a][i] += w;
      const j = up[b].indexOf(a);
      upW[b][j] += w;
      return;
    }
    segSeen.set(key, 1);
    down[a].push(b);
    downW[a].push(w);
    up[b].push(a);
    upW[b].push(w);
  };
  for (let v = 0; v < n; v++) {
    const chain: number[] = []; // chain[k] = dummy at layer layer[v] + 1 + k
    for (const m of outOf[v]) {
      const t = mTarget[m];
      const span = layer[t] - layer[v];
      const path = [v];
      for (let k = 0; k < span - 1; k++) {
        if (chain[k] === undefined) {
          const d = nodeLayer.length;
          nodeLayer.push(layer[v] + 1 + k);
          width.push(DUMMY_WIDTH);
          height.push(0);
          owner.push(v);
          up.push([]);
          down.push([]);
          upW.push([]);
          downW.push([]);
          chain[k] = d;
        }
        path.push(chain[k]);
      }
      path.push(t);
      mPath[m] = path;
      for (let k = 0; k + 1 < path.length; k++) {
        const dummySeg = path[k] >= n && path[k + 1] >= n;
        // Trunks (dummy to dummy) pull hardest so long edges run straight; a branch off a trunk
        // into its target pulls least, so targets stay in line with their main input.
        const branch = path[k] >= n && path[k + 1] < n;
        link(path[k], path[k + 1], mWeight[m] * (dummySeg ? 4 : branch ? 0.05 : 1));
      }
    }
  }
  return g;
}

/** Step 4: order within layers (barycenter sweeps, keeping the order with fewest crossings). */
function orderLayers(g: ProperGraph, L: number, sweeps: number): number[][] {
  const { nodeLayer, owner, up, down, upW, downW } = g;
  const V = nodeLayer.length;
  const layers: number[][] = Array.from({ length: L }, () => []);
  for (let v = 0; v < V; v++) layers[nodeLayer[v]].push(v);
  for (const ly of layers) ly.sort((a, b) => owner[a] - owner[b] || a - b);
  const pos = new Float64Array(V);
  const setPos = () => {
    for (const ly of layers) ly.forEach((v, i) => (pos[v] = i));
  };
  setPos();
  let best = layers.map((ly) => ly.slice());
  let bestCrossings = totalCrossings(layers, down, pos);
  const bary = new Float64Array(V);
  for (let it = 0; it < sweeps && bestCrossings > 0; it++) {
    const downward = it % 2 === 0;
    const range = downward ? [...Array(L).keys()].slice(1) : [...Array(L).keys()].slice(0, -1).reverse();
    for (const l of range) {
      const ly = layers[l];
      for (const v of ly) {
        const nb = downward ? up[v] : down[v];
        const wt = downward ? upW[v] : downW[v];
        if (nb.length === 0) {
          bary[v] = pos[v];
          continue;
        }
        let s = 0;
        let w = 0;
        for (let k = 0; k < nb.length; k++) {
          s += pos[nb[k]] * wt[k];
          w += wt[k];
        }
        bary[v] = s / w;
      }
      ly.sort((a, b) => bary[a] - bary[b] || pos[a] - pos[b]);
      ly.forEach((v, i) => (pos[v] = i));
    }
    const c = totalCrossings(layers, down, pos);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((ly) => ly.slice());
    }
  }
  for (let l = 0; l < L; l++) layers[l] = best[l];
  return layers;
}

/** Step 5: x coordinates (centres). */
function placeX(g: ProperGraph, layers: number[][], opt: LayoutOptions): Float64Array {
  const { nodeLayer, width, up, down, upW, downW, n } = g;
  const V = nodeLayer.length;
  const L = layers.length;
  const xc = new Float64Array(V);
  const sep = (a: number, b: number) => (width[a] + width[b]) / 2 + (a >= n || b >= n ? DUMMY_GAP : opt.nodeGap);
  let widest = 0;
  for (const ly of layers) {
    let x = 0;
    ly.forEach((v, i) => {
      if (i > 0) x += sep(ly[i - 1], v);
      xc[v] = x;
    });
    widest = Math.max(widest, x);
  }
  for (const ly of layers) {
    if (ly.length === 0) continue;
    const shift = (widest - xc[ly[ly.length - 1]]) / 2;
    for (const v of ly) xc[v] += shift;
  }
  const target = new Float64Array(V);
  const weight = new Float64Array(V);
  // First, top down, each node under its heaviest input (its main input, or its trunk): chains
  // and trunks start straight.
  for (let l = 1; l < L; l++) {
    const ly = layers[l];
    for (const v of ly) {
      let best = -1;
      let bw = 0;
      for (let k = 0; k < up[v].length; k++) {
        if (upW[v][k] > bw) {
          bw = upW[v][k];
          best = up[v][k];
        }
      }
      target[v] = best < 0 ? xc[v] : xc[best];
      weight[v] = best < 0 ? 0.05 : 1;
    }
    placeLayer(ly, target, weight, sep, xc);
  }
  for (let p = 0; p < opt.passes; p++) {
    // Block coordinate descent on the whole objective (both neighbour layers every time), so
    // passes never drift: a straight chain with a trunk beside it is a fixed point.
    const mode = p % 2 === 0 ? 'down' : 'up';
    const last = true;
    const range = mode === 'down' ? [...Array(L).keys()] : [...Array(L).keys()].reverse();
    for (const l of range) {
      const ly = layers[l];
      for (const v of ly) {
        let s = 0;
        let w = 0;
        const take = (nb: number[], wt: number[]) => {
          for (let k = 0; k < nb.length; k++) {
            s += xc[nb[k]] * wt[k];
            w += wt[k];
          }
        };
        if (mode === 'down' || last) take(up[v], upW[v]);
        if (mode === 'up' || last) take(down[v], downW[v]);
        if (w === 0) {
          target[v] = xc[v];
          weight[v] = 0.05;
        } else {
          target[v] = s / w;
          weight[v] = w;
        }
      }
      placeLayer(ly, target, weight, sep, xc);
    }
  }
  return xc;
}

/** Step 6: y coordinates, the bounding box, top-left corners and the edges' routes. */
function finish(
  nodes: readonly LayoutNodeInput[],
  edges: readonly LayoutEdgeInput[],
  fwd: ForwardEdges,
  g: ProperGraph,
  layer: number[],
  xc: Float64Array,
  L: number,
  opt: LayoutOptions,
): LayoutResult {
  const { n, nodeLayer, width, height, mPath } = g;
  const V = nodeLayer.length;
  const layerTop = new Float64Array(L);
  const layerHeight = new Float64Array(L);
  for (let v = 0; v < V; v++) layerHeight[nodeLayer[v]] = Math.max(layerHeight[nodeLayer[v]], height[v]);
  let y = 0;
  // a row of entry or exit points only needs a little room
  const virtualRow = new Uint8Array(L).fill(1);
  for (let v = 0; v < n; v++) if ((nodes[v].pin ?? 0) === 0) virtualRow[nodeLayer[v]] = 0;
  for (let l = 0; l < L; l++) {
    layerHeight[l] = virtualRow[l] ? 0 : Math.max(layerHeight[l], 8);
    const gap = virtualRow[l] || (l + 1 < L && virtualRow[l + 1]) ? VIRTUAL_GAP : opt.layerGap;
    layerTop[l] = y;
    y += layerHeight[l] + gap;
  }
  const totalHeight = L > 0 ? y - (virtualRow[L - 1] ? VIRTUAL_GAP : opt.layerGap) : 0;
  let minX = Infinity;
  let maxX = -Infinity;
  for (let v = 0; v < V; v++) {
    minX = Math.min(minX, xc[v] - width[v] / 2);
    maxX = Math.max(maxX, xc[v] + width[v] / 2);
  }
  if (V === 0) {
    minX = 0;
    maxX = 0;
  }
  const xs: number[] = new Array<number>(n);
  const ys: number[] = new Array<number>(n);
  for (let v = 0; v < n; v++) {
    xs[v] = xc[v] - width[v] / 2 - minX;
    ys[v] = layerTop[nodeLayer[v]] + (layerHeight[nodeLayer[v]] - height[v]) / 2;
  }
  const { edgeMerged, reversed } = fwd;
  const routes: Point[][] = edges.map((_, i) => {
    const m = edgeMerged[i];
    if (m < 0) return [];
    const pts: Point[] = [];
    for (const d of mPath[m]) {
      if (d < n) continue;
      pts.push({ x: xc[d] - minX, y: layerTop[nodeLayer[d]] + layerHeight[nodeLayer[d]] / 2 });
    }
    return reversed[i] ? pts.reverse() : pts;
  });
  return { x: xs, y: ys, width: maxX - minX, height: totalHeight, routes, reversed, layer };
}

/**
 * Places one layer: minimises sum w_i (x_i - t_i)^2 subject to the given order and
 * x_{i+1} - x_i >= sep(i, i+1). With offsets o_i (prefix sums of the separations) and
 * z_i = x_i - o_i this is isotonic regression of t_i - o_i, solved by pool-adjacent-violators.
 */
function placeLayer(
  ly: readonly number[],
  target: Float64Array,
  weight: Float64Array,
  sep: (a: number, b: number) => number,
  xc: Float64Array,
): void {
  const k = ly.length;
  if (k === 0) return;
  const off = new Float64Array(k);
  for (let i = 1; i < k; i++) off[i] = off[i - 1] + sep(ly[i - 1], ly[i]);
  // blocks: weighted mean and extent
  const bw: number[] = [];
  const bs: number[] = [];
  const bn: number[] = [];
  for (let i = 0; i < k; i++) {
    const v = ly[i];
    let w = weight[v];
    let s = (target[v] - off[i]) * w;
    let c = 1;
    while (bw.length > 0 && bs[bs.length - 1] / bw[bw.length - 1] > s / w) {
      w += bw.pop()!;
      s += bs.pop()!;
      c += bn.pop()!;
    }
    bw.push(w);
    bs.push(s);
    bn.push(c);
  }
  let i = 0;
  for (let b = 0; b < bw.length; b++) {
    const z = bs[b] / bw[b];
    for (let c = 0; c < bn[b]; c++, i++) xc[ly[i]] = z + off[i];
  }
}

/** Crossings between consecutive layers (Barth, Jünger, Mutzel: an accumulator tree per pair). */
function totalCrossings(layers: readonly number[][], down: readonly number[][], pos: Float64Array): number {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const south = layers[l + 1].length;
    if (south === 0) continue;
    const ends: number[] = [];
    for (const v of layers[l]) {
      const targets = down[v].map((t) => pos[t]).sort((a, b) => a - b);
      for (const t of targets) ends.push(t);
    }
    let first = 1;
    while (first < south) first *= 2;
    const tree = new Int32Array(2 * first - 1);
    first -= 1;
    for (const e of ends) {
      let index = e + first;
      tree[index]++;
      while (index > 0) {
        if (index % 2) total += tree[index + 1];
        index = (index - 1) >> 1;
        tree[index]++;
      }
    }
  }
  return total;
}
