import { formatBytes, formatCount } from '../../core/bytes-and-counts';
import type { OpenedModel } from '../../workers/model-api';
import { Card } from '../common/Card';
import { Stat } from '../common/Stat';
import { LayerTable } from './LayerTable';
import { OpCountList } from './OpCountList';
import { TensorTable } from './TensorTable';
import { formatInteger } from './shape';

export interface ModelSummaryPanelProps {
  model: OpenedModel;
}

function opsetLabel(domain: string): string {
  return domain === '' || domain === 'ai.onnx' ? 'ai.onnx' : domain;
}

/** Everything the summary of an opened model says, laid out as cards. */
export function ModelSummaryPanel({ model }: ModelSummaryPanelProps) {
  const s = model.summary;
  const dataFiles = model.files.slice(1);
  const opsets = Object.entries(s.opsets);
  const producer = [s.producer.name, s.producer.version].filter(Boolean).join(' ');
  return (
    <div className="summary" data-testid="summary">
      <div className="summary__title-row">
        <div>
          <h1 className="summary__file" data-testid="summary-file-name">
            {model.fileName}
          </h1>
          <p className="summary__sub muted">
            <span data-testid="summary-file-size" data-value={model.fileBytes}>
              {formatBytes(model.fileBytes)}
            </span>
            {dataFiles.length > 0 && (
              <span data-testid="summary-data-files">
                {' '}
                + external data: {dataFiles.map((f) => `${f.name} (${formatBytes(f.bytes)})`).join(', ')}
              </span>
            )}
            <span> · parsed in {model.parseMs < 1 ? '<1' : Math.round(model.parseMs)} ms</span>
          </p>
        </div>
      </div>

      <div className="stats">
        <Stat label="IR version" value={s.irVersion ?? '—'} raw={s.irVersion ?? undefined} testId="summary-ir-version" />
        <Stat
          label="Producer"
          value={
            s.producer.name || s.producer.version ? (
              <>
                {s.producer.name} <span className="stat__small">{s.producer.version}</span>
              </>
            ) : (
              '—'
            )
          }
          raw={producer}
          testId="summary-producer"
        />
        <Stat
          label="Opsets"
          testId="summary-opsets"
          value={
            <span className="chips">
              {opsets.length === 0 && '—'}
              {opsets.map(([domain, version]) => (
                <span key={domain} className="chip" data-domain={domain}>
                  {opsetLabel(domain)} <strong>{version}</strong>
                </span>
              ))}
            </span>
          }
        />
        <Stat label="Nodes" value={formatInteger(s.nodeCount)} raw={s.nodeCount} testId="summary-node-count" />
        <Stat
          label="Parameters"
          value={formatCount(s.params)}
          raw={s.params}
          hint={formatInteger(s.params)}
          testId="summary-params"
        />
        <Stat
          label="Weights"
          value={formatBytes(s.weightBytes)}
          raw={s.weightBytes}
          hint={`${formatInteger(s.weightBytes)} bytes`}
          testId="summary-weight-bytes"
        />
      </div>

      <div className="grid-2">
        <div className="stack">
          <Card title="Inputs" testId="summary-inputs">
            <TensorTable rows={s.inputs} kind="input" />
          </Card>
          <Card title="Outputs" testId="summary-outputs">
            <TensorTable rows={s.outputs} kind="output" />
          </Card>
        </div>
        <Card title="Operators" aside={<span className="muted">{Object.keys(s.opCounts).length} types</span>} testId="summary-ops">
          <OpCountList opCounts={s.opCounts} />
        </Card>
      </div>

      <Card title="Layers" aside={<span className="muted">nodes that consume weights</span>} testId="summary-layers">
        <LayerTable layers={s.layers} />
      </Card>
    </div>
  );
}
