/** Size now versus projected size after compression (placeholder until the recipe UI lands). */
export function SummaryBar() {
  return <div className="summary-bar" data-testid="summary-bar" />;
}
