/** Details and per-layer controls for the selected node (placeholder until the inspector lands). */
export function Inspector() {
  return <aside className="inspector" data-testid="inspector" />;
}
