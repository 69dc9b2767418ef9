/**
 * The graph as a picture: the rendered xyflow DOM serialized to a self-contained SVG (group
 * frames and nodes as rects with their text, edges as paths with their labels, every style
 * inline, no external reference), and that SVG drawn on a canvas for a PNG.
 *
 * Coordinates are the flow's own (node positions and layout sizes), so the picture does not
 * depend on the zoom. What is exported is what is rendered: the scene as expanded now (on a
 * very large scene that renders only the elements in view, those).
 */

const SVG_NS = 'http://www.w3.org/2000/svg';
const PAD = 24;
/** Lines of text kept per node (op, name, weight chips …). */
const MAX_LINES = 5;

export interface GraphSvg {
  svg: string;
  width: number;
  height: number;
  /** nodes drawn (frames, groups, inputs/outputs and ops) */
  nodes: number;
  edges: number;
}

/** Characters XML 1.0 cannot hold (names come from untrusted models) are dropped; the rest escaped. */
export function xmlText(s: string): string {
  let kept = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const allowed = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (allowed) kept += ch;
  }
  return kept
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const num = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '0');

/** A CSS colour as an SVG paint and opacity ('none' when transparent). */
function paint(css: string): { color: string; opacity: number } {
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(css.trim());
  if (!m) return { color: css && css !== 'transparent' ? css : 'none', opacity: 1 };
  const a = m[4] === undefined ? 1 : m[4].endsWith('%') ? Number(m[4].slice(0, -1)) / 100 : Number(m[4]);
  if (!(a > 0)) return { color: 'none', opacity: 0 };
  return { color: `rgb(${Math.round(Number(m[1]))},${Math.round(Number(m[2]))},${Math.round(Number(m[3]))})`, opacity: a };
}

function paintAttrs(kind: 'fill' | 'stroke', css: string): string {
  const p = paint(css);
  if (p.color === 'none') return `${kind}="none"`;
  const color = /^[#\w(),. ]+$/.test(p.color) ? p.color : 'none';
  return `${kind}="${color}"${p.opacity < 1 ? ` ${kind}-opacity="${num(p.opacity)}"` : ''}`;
}

/** Where xyflow put a node: its wrapper's translate(), in flow coordinates. */
function position(el: HTMLElement): { x: number; y: number } {
  const m = /translate\(\s*(-?[\d.e+-]+)px\s*,\s*(-?[\d.e+-]+)px\s*\)/.exec(el.style.transform);
  return m ? { x: Number(m[1]), y: Number(m[2]) } : { x: 0, y: 0 };
}

function fontAttrs(style: CSSStyleDeclaration, weight?: string): string {
  const family = style.fontFamily.replace(/"/g, "'");
  return `font-family="${xmlText(family || 'sans-serif')}" font-size="${num(parseFloat(style.fontSize) || 12)}" font-weight="${xmlText(weight ?? style.fontWeight ?? 'normal')}"`;
}

/** The visible lines of text of a node, top to bottom. */
function textLines(el: HTMLElement): string[] {
  return (el.innerText || el.textContent || '')
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .slice(0, MAX_LINES);
}

function nodeSvg(wrapper: HTMLElement, kind: string): { svg: string; box: { x: number; y: number; w: number; h: number } } | undefined {
  const body = (wrapper.firstElementChild as HTMLElement | null) ?? wrapper;
  const { x, y } = position(wrapper);
  const w = body.offsetWidth || wrapper.offsetWidth;
  const h = body.offsetHeight || wrapper.offsetHeight;
  if (!(w > 0 && h > 0)) return undefined;
  const s = getComputedStyle(body);
  const radius = Math.min(parseFloat(s.borderTopLeftRadius) || 0, w / 2, h / 2);
  const strokeWidth = parseFloat(s.borderTopWidth) || 0;
  const dashed = s.borderTopStyle === 'dashed' ? ' stroke-dasharray="5 3"' : '';
  const id = wrapper.dataset.id ?? '';
  const parts: string[] = [`<g class="node node--${xmlText(kind)}" data-id="${xmlText(id)}">`];
  parts.push(
    `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" rx="${num(radius)}" ${paintAttrs('fill', s.backgroundColor)} ` +
      (strokeWidth > 0 ? `${paintAttrs('stroke', s.borderTopColor)} stroke-width="${num(strokeWidth)}"${dashed}` : 'stroke="none"') +
      '/>',
  );
  // a coloured left stripe (the compression setting of a layer)
  const left = parseFloat(s.borderLeftWidth) || 0;
  if (left > strokeWidth && paint(s.borderLeftColor).color !== 'none') {
    parts.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(left)}" height="${num(h)}" rx="${num(Math.min(radius, left))}" ${paintAttrs('fill', s.borderLeftColor)}/>`);
  }
  const lines = textLines(body);
  if (lines.length > 0) {
    const size = parseFloat(s.fontSize) || 12;
    const padLeft = (parseFloat(s.paddingLeft) || 8) + left;
    const first = (body.querySelector('.gnode__op, .ggroup__title, .gbox__title, .gio__name') as HTMLElement | null) ?? body;
    const fs = getComputedStyle(first);
    // the lines that fit in the node's box (the first always)
    const fitting = Math.max(1, Math.floor((h - (parseFloat(s.paddingTop) || 4) - (parseFloat(fs.fontSize) || size)) / (size * 1.3)) + 1);
    const tspans = lines
      .slice(0, fitting)
      .map((l, i) => `<tspan x="${num(x + padLeft)}" dy="${i === 0 ? num(parseFloat(fs.fontSize) || size) : num(size * 1.3)}"${i === 0 ? ` font-weight="${xmlText(fs.fontWeight || '600')}"` : ''}>${xmlText(l)}</tspan>`)
      .join('');
    parts.push(`<text class="node-label" data-id="${xmlText(id)}" x="${num(x + padLeft)}" y="${num(y + (parseFloat(s.paddingTop) || 4))}" ${paintAttrs('fill', s.color)} ${fontAttrs(s)}>${tspans}</text>`);
  }
  parts.push('</g>');
  return { svg: parts.join(''), box: { x, y, w, h } };
}

function edgesSvg(layer: HTMLElement): { svg: string; count: number } {
  const { x, y } = position(layer);
  const parts: string[] = [`<g class="edges" transform="translate(${num(x)},${num(y)})">`];
  let count = 0;
  for (const g of layer.querySelectorAll<SVGGElement>('g.gedge')) {
    const path = g.querySelector<SVGPathElement>('path.gedge__path');
    const d = path?.getAttribute('d');
    if (!path || !d || !/^[MLCQZHVSTA\d\s.,eE+-]+$/i.test(d)) continue;
    const s = getComputedStyle(path);
    const dash = s.strokeDasharray && s.strokeDasharray !== 'none' ? ` stroke-dasharray="${xmlText(s.strokeDasharray.replace(/px/g, ''))}"` : '';
    const arrow = path.getAttribute('marker-end') ? ' marker-end="url(#arrow)"' : '';
    parts.push(`<path class="edge" d="${d}" fill="none" ${paintAttrs('stroke', s.stroke)} stroke-width="${num(parseFloat(s.strokeWidth) || 1)}"${dash}${arrow}/>`);
    count++;
    const label = g.querySelector<SVGTextElement>('text.gedge__label');
    if (label?.textContent) {
      const ls = getComputedStyle(label);
      parts.push(
        `<text class="edge-label" x="${num(Number(label.getAttribute('x')))}" y="${num(Number(label.getAttribute('y')))}" text-anchor="middle" dominant-baseline="middle" ${paintAttrs('fill', ls.fill)} ${fontAttrs(ls)}>${xmlText(label.textContent)}</text>`,
      );
    }
  }
  parts.push('</g>');
  return { svg: parts.join(''), count };
}

/** The rendered graph under `root` (the xyflow element) as a standalone SVG document. */
export function graphSvg(root: HTMLElement): GraphSvg {
  const frames: string[] = [];
  const nodes: string[] = [];
  let edges = { svg: '', count: 0 };
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let count = 0;
  for (const wrapper of root.querySelectorAll<HTMLElement>('.react-flow__node')) {
    const type = [...wrapper.classList].find((c) => c.startsWith('react-flow__node-'))?.slice('react-flow__node-'.length) ?? 'node';
    if (type === 'edgeLayer') {
      edges = edgesSvg(wrapper);
      continue;
    }
    const drawn = nodeSvg(wrapper, type);
    if (!drawn) continue;
    count++;
    (type === 'boxNode' ? frames : nodes).push(drawn.svg);
    const { x, y, w, h } = drawn.box;
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x + w);
    maxY = Math.max(maxY, y + h);
  }
  if (count === 0) {
    minX = minY = 0;
    maxX = maxY = 1;
  }
  const width = Math.ceil(maxX - minX + 2 * PAD);
  const height = Math.ceil(maxY - minY + 2 * PAD);
  const svg =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="${num(minX - PAD)} ${num(minY - PAD)} ${width} ${height}">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="rgb(148,163,184)"/></marker></defs>` +
    `<rect x="${num(minX - PAD)}" y="${num(minY - PAD)}" width="${width}" height="${height}" fill="rgb(255,255,255)"/>` +
    frames.join('') +
    edges.svg +
    nodes.join('') +
    '</svg>\n';
  return { svg, width, height, nodes: count, edges: edges.count };
}

/** Canvas limits browsers accept everywhere: a side of 16,384 px and 64 Mpx. */
const MAX_SIDE = 16_384;
const MAX_AREA = 64 * 1024 * 1024;

/** The scale a PNG of this SVG is drawn at: `preferred` (2: sharp on high-density screens) unless the canvas would be too large. */
export function pngScale(width: number, height: number, preferred = 2): number {
  return Math.min(preferred, MAX_SIDE / width, MAX_SIDE / height, Math.sqrt(MAX_AREA / (width * height)));
}

/** The SVG drawn on a canvas, as a PNG. */
export async function svgToPng(g: GraphSvg, preferredScale = 2): Promise<Blob> {
  const scale = pngScale(g.width, g.height, preferredScale);
  const url = URL.createObjectURL(new Blob([g.svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.floor(g.width * scale));
    canvas.height = Math.max(1, Math.floor(g.height * scale));
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('This browser gave no 2D canvas.');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The picture is too large for a PNG in this browser.'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}
