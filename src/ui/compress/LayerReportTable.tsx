import { memo } from 'react';
import type { LayerReport } from '../../compress/compress';
import { formatBytes } from '../../core/bytes-and-counts';
import { describeSettings } from './describe';
import { recoveryLayerNote } from './result-texts';

export interface LayerReportTableProps {
  layers: readonly LayerReport[];
}

function weightTitle(l: LayerReport): string {
  return l.weights
    .map((w) => `${w.name} [${w.shape.join(', ')}]: ${w.encoding}, ${w.bytesBefore} -> ${w.bytesAfter} bytes${w.pruned !== undefined ? `, ${w.pruned} zeros` : ''}`)
    .join('\n');
}

/** What compression did to every layer: requested versus applied, bytes, and why a layer was left alone. */
export const LayerReportTable = memo(function LayerReportTable({ layers }: LayerReportTableProps) {
  return (
    <div className="table-scroll compress-table" data-testid="compress-layers">
      <table className="table">
        <thead>
          <tr>
            <th>Layer</th>
            <th>Op</th>
            <th>Requested</th>
            <th>Applied</th>
            <th className="num">Before</th>
            <th className="num">After</th>
            <th>Note</th>
          </tr>
        </thead>
        <tbody>
          {layers.map((l) => {
            const rec = l.weights.find((w) => w.recovery)?.recovery;
            const recNote = rec ? recoveryLayerNote(l.requested, rec) : '';
            const note = l.error ?? [recNote, ...l.notes].filter(Boolean).join('; ');
            return (
              <tr
                key={`${l.graphPath}/${l.key}`}
                data-testid="compress-layer-row"
                data-key={l.key}
                data-applied={l.applied}
                data-activations={l.activations?.mode ?? 'fp32'}
                data-bytes-before={l.bytesBefore}
                data-bytes-after={l.bytesAfter}
                data-error={l.error !== undefined ? 'true' : 'false'}
                data-recovery-before={rec?.errorBefore}
                data-recovery-after={rec?.errorAfter}
                className={l.error !== undefined ? 'compress-row--error' : undefined}
              >
                <td className="mono layer-key">{l.key}</td>
                <td>
                  <span className="tag tag--op">{l.op}</span>
                </td>
                <td>{describeSettings(l.requested)}</td>
                <td className="mono" title={weightTitle(l)}>
                  {l.error !== undefined ? 'left as it was' : l.applied}
                  {l.error === undefined && l.activations ? `, ${l.activations.mode} int8 activations` : ''}
                </td>
                <td className="num" data-value={l.bytesBefore}>
                  {formatBytes(l.bytesBefore)}
                </td>
                <td className="num" data-value={l.bytesAfter}>
                  {formatBytes(l.bytesAfter)}
                </td>
                <td className={l.error !== undefined ? 'compress-note compress-note--error' : 'compress-note muted'}>{note}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
});
