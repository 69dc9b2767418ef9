import { useEffect } from 'react';
import { formatCount } from '../../core/bytes-and-counts';
import { useInspectorStore } from '../../state/inspector-store';
import { useLayerSetting } from '../../state/recipe-store';
import { useSelectionStore } from '../../state/selection-store';
import type { NodeDetails, ValueView } from '../../workers/model-api';
import { settingColor } from '../recipe/colors';
import { formatDims } from './stat-text';
import { LayerControls } from './LayerControls';
import { Section } from './Section';
import { LayerSensitivity } from '../explore/LayerSensitivity';
import { OpDocSection } from './OpDocSection';
import { WeightCard } from './WeightCard';

const KIND_LABELS: Record<ValueView['kind'], string> = {
  activation: '',
  'graph-input': 'graph input',
  initializer: 'initializer',
  constant: 'Constant',
  optional: 'omitted',
  unknown: '',
};

function ValueRows({ values, testId }: { values: ValueView[]; testId: string }) {
  if (values.length === 0) return <p className="muted small">None.</p>;
  return (
    <ul className="values">
      {values.map((v, i) => (
        <li key={`${i}:${v.name}`} className="value" data-testid={testId} data-name={v.name}>
          <span className="value__index">{i}</span>
          {v.kind === 'optional' ? (
            <span className="muted small">(optional input left out)</span>
          ) : (
            <>
              <span className="value__name mono" title={v.name}>
                {v.name}
              </span>
              <span className="value__type">
                <span className="tag">{v.dtype}</span>{' '}
                <span className="mono" data-testid={`${testId}-shape`}>
                  {formatDims(v.shape)}
                </span>
                {(KIND_LABELS[v.kind] || v.isOutput) && (
                  <span className="muted small"> {[KIND_LABELS[v.kind], v.isOutput ? 'graph output' : ''].filter(Boolean).join(', ')}</span>
                )}
              </span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

function Header({ nodeKey, details }: { nodeKey: string; details?: NodeDetails }) {
  const select = useSelectionStore((s) => s.select);
  const setting = useLayerSetting(nodeKey);
  return (
    <div className="insp-head">
      <button type="button" className="link-button insp-head__back" data-testid="inspector-back" onClick={() => select(undefined)}>
        ← All layers
      </button>
      <div className="insp-head__title">
        {details && (
          <span className="op-badge" data-testid="inspector-op" style={setting ? { borderColor: settingColor(setting) } : undefined}>
            {details.op}
          </span>
        )}
        <h2 className="insp-head__key mono" data-testid="inspector-key">
          {nodeKey}
        </h2>
      </div>
      {details && (
        <div className="insp-head__meta muted small">
          {details.domain || 'ai.onnx'}
          {details.graphPath !== 'main' && <> · in {details.graphPath}</>}
          {details.isLayer && details.params !== undefined && <> · {formatCount(details.params)} params</>}
        </div>
      )}
      {details?.docString && <p className="insp-head__doc small">{details.docString}</p>}
    </div>
  );
}

/** Everything about one node, and its compression settings when it is a layer. */
export function NodeInspector({ nodeKey }: { nodeKey: string }) {
  const entry = useInspectorStore((s) => s.nodes[nodeKey]);
  const loadNode = useInspectorStore((s) => s.loadNode);
  useEffect(() => loadNode(nodeKey), [nodeKey, loadNode]);
  const details = entry?.status === 'ready' ? entry.value : undefined;
  return (
    <div className="node-inspector" data-testid="node-inspector" data-key={nodeKey}>
      <Header nodeKey={nodeKey} details={details} />
      {!entry || entry.status === 'loading' ? (
        <p className="muted insp-pad">Loading…</p>
      ) : entry.status === 'error' ? (
        <p className="inline-error insp-pad">{entry.message}</p>
      ) : (
        details && (
          <>
            {details.isLayer && (
              <Section title="Compression" testId="section-compression">
                <LayerControls layerKey={nodeKey} />
              </Section>
            )}
            {details.isLayer && (
              <LayerSensitivity nodeKey={nodeKey} />
            )}
            {details.weights.length > 0 && (
              <Section title="Weights" aside={<span className="count">{details.weights.length}</span>} testId="section-weights">
                <div className="weights-list">
                  {details.weights.map((w) => (
                    <WeightCard key={w.id} weight={w} />
                  ))}
                </div>
              </Section>
            )}
            <Section title="Attributes" aside={<span className="count">{details.attributes.length}</span>} testId="section-attributes" defaultOpen={details.attributes.length > 0}>
              {details.attributes.length === 0 ? (
                <p className="muted small">None.</p>
              ) : (
                <dl className="attrs">
                  {details.attributes.map((a) => (
                    <div key={a.name} className="attr" data-testid="attribute" data-name={a.name}>
                      <dt className="attr__name mono" title={a.type}>
                        {a.name}
                      </dt>
                      <dd className="attr__value mono">{a.value}</dd>
                    </div>
                  ))}
                </dl>
              )}
            </Section>
            <Section title="Inputs" aside={<span className="count">{details.inputs.length}</span>} testId="section-inputs">
              <ValueRows values={details.inputs} testId="input" />
            </Section>
            <Section title="Outputs" aside={<span className="count">{details.outputs.length}</span>} testId="section-outputs">
              <ValueRows values={details.outputs} testId="output" />
            </Section>
            <OpDocSection op={details.op} domain={details.domain} />
          </>
        )
      )}
    </div>
  );
}
