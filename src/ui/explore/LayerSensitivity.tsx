import { PROBES } from '../../bench/explore/sensitivity';
import { useExploreStore } from '../../state/explore-store';
import './explore.css';
import { Section } from '../inspector/Section';
import { formatMetric } from './metric-export';

/** The inspector's numbers for one layer: each probe's metric, its drop and cosine to the original. */
export function LayerSensitivity({ nodeKey }: { nodeKey: string }) {
  const entries = useExploreStore((s) => s.entries);
  const metric = useExploreStore((s) => s.metric);
  const baseline = useExploreStore((s) => s.baseline);
  const heat = useExploreStore((s) => s.heat[nodeKey]);
  const mine = entries.filter((e) => e.key === nodeKey);
  if (mine.length === 0) return null;
  return (
    <Section title="Sensitivity" testId="section-sensitivity">
    <div className="layer-sens insp-pad" data-testid="layer-sensitivity">
      <p className="muted">
        This layer alone compressed, the rest as is{baseline && metric ? ` (original: ${formatMetric(metric === 'accuracy' ? (baseline.accuracy ?? NaN) : 1, metric)})` : ''}. Sensitivity {heat !== undefined ? `${Math.round(heat * 100)}% of the most sensitive layer` : ''}.
      </p>
      <table className="layer-sens__table">
        <thead>
          <tr>
            <th>setting</th>
            <th>{metric ?? 'metric'}</th>
            <th>drop</th>
            <th>cosine</th>
          </tr>
        </thead>
        <tbody>
          {PROBES.map((p) => {
            const e = mine.find((x) => x.probe === p.id);
            if (!e) return null;
            return (
              <tr key={p.id} data-probe={p.id}>
                <td>{p.label}</td>
                <td>{formatMetric(metric === 'accuracy' ? (e.score.accuracy ?? NaN) : metric === 'top1' ? e.score.top1 : e.score.cosine, metric)}</td>
                <td>{metric === 'cosine' ? e.drop.toExponential(2) : `${(e.drop * 100).toFixed(2)} pts`}</td>
                <td title={e.refused}>{e.refused ? 'refused' : e.score.cosine.toFixed(5)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
    </Section>
  );
}
