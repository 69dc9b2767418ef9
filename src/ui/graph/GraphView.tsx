/** The model's graph (placeholder until the graph view lands). */
export function GraphView() {
  return <div className="graph-view" data-testid="graph-view" />;
}
