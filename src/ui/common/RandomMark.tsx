/** The mark every figure measured on random inputs carries (no data given in the Data tab). */
export function RandomMark({ testId = 'random-mark' }: { testId?: string }) {
  return (
    <span className="random-mark" data-testid={testId} title="Measured on random inputs: give real data in the Data tab for figures that hold on your data">
      random inputs
    </span>
  );
}
