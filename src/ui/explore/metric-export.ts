import type { ExplorePoint, MetricKind } from '../../state/explore-store';

/** A metric value as shown: accuracy and top-1 as percentages, cosine with 5 decimals. */
export function formatMetric(v: number, kind: MetricKind | undefined): string {
  if (!Number.isFinite(v)) return '–';
  return kind === 'cosine' ? v.toFixed(5) : `${(v * 100).toFixed(2)}%`;
}

export const METRIC_SHORT: Record<MetricKind, string> = { accuracy: 'accuracy', top1: 'top-1 agreement', cosine: 'cosine' };

/** "3× int8, 1× int4+p50": the mix of a search point's per-layer options. */
export function mixText(p: ExplorePoint): string {
  if (!p.assignment) {
    const d = p.recipe.defaults;
    const parts: string[] = [d.weights ?? 'fp32'];
    if (d.prune) parts.push(`prune ${Math.round(d.prune * 100)}%`);
    return `every layer ${parts.join(' + ')}`;
  }
  const counts = new Map<string, number>();
  for (const id of Object.values(p.assignment)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([id, n]) => `${n}× ${id}`).join(', ');
}

/** Points as CSV (one row per measured configuration). */
export function pointsCsv(points: readonly ExplorePoint[], metric: MetricKind | undefined): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = [['id', 'kind', 'label', 'projected_bytes', 'file_bytes', 'latency_ms_wasm_1_thread', `metric_${metric ?? ''}`, 'accuracy', 'top1', 'cosine_worst', 'sqnr_db_worst', 'kl_mean', 'mix', 'recipe'].join(',')];
  for (const p of points) {
    rows.push(
      [
        String(p.id),
        p.kind,
        esc(p.label),
        String(Math.round(p.size)),
        String(p.fileBytes),
        String(p.latencyMs),
        String(p.metric),
        p.score.accuracy === undefined ? '' : String(p.score.accuracy),
        String(p.score.top1),
        String(p.score.cosine),
        String(p.score.sqnrDb),
        String(p.score.kl),
        esc(mixText(p)),
        esc(JSON.stringify({ defaults: p.recipe.defaults, layers: p.recipe.layers })),
      ].join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** Saves a Blob under a name (a temporary link; nothing leaves the machine). */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The chart's SVG as standalone text (fonts and colours inline, white background). */
export function svgText(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const w = svg.clientWidth || Number(svg.getAttribute('width')) || 600;
  const h = svg.clientHeight || Number(svg.getAttribute('height')) || 400;
  clone.setAttribute('width', String(w));
  clone.setAttribute('height', String(h));
  clone.setAttribute('style', 'font-family: system-ui, sans-serif; font-size: 12px; background: #fff');
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#fff');
  clone.insertBefore(bg, clone.firstChild);
  return new XMLSerializer().serializeToString(clone);
}

/** The chart as a PNG (drawn from its SVG at twice the size). */
export async function svgPng(svg: SVGSVGElement): Promise<Blob> {
  const text = svgText(svg);
  const w = svg.clientWidth || 600;
  const h = svg.clientHeight || 400;
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('The chart could not be drawn as an image.'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = w * 2;
    canvas.height = h * 2;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('No 2D canvas in this browser.');
    ctx.scale(2, 2);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(img, 0, 0, w, h);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed.'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A latency in ms: 3 significant digits, µs below 1 ms. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  return `${ms.toPrecision(3)} ms`;
}
