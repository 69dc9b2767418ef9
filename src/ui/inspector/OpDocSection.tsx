import { useEffect, useState } from 'react';
import { errorMessage } from '../../core/errors';
import { findOpDoc, loadOpDocs, schemaDomain, type OpDocAttribute, type OpDocLookup, type OpDocParam, type OpDocs } from '../../onnx/op-docs';
import { useModelStore } from '../../state/model-store';
import { Section } from './Section';
import './op-docs.css';

type DocsState = { status: 'loading' } | { status: 'ready'; docs: OpDocs } | { status: 'error'; message: string };

/** The schema data, imported on first use and shared by every inspector afterwards. */
function useOpDocs(): DocsState {
  const [state, setState] = useState<DocsState>({ status: 'loading' });
  useEffect(() => {
    let live = true;
    loadOpDocs().then(
      (docs) => live && setState({ status: 'ready', docs }),
      (e: unknown) => live && setState({ status: 'error', message: `The operator documentation did not load: ${errorMessage(e)}` }),
    );
    return () => {
      live = false;
    };
  }, []);
  return state;
}

function paramLabel(p: OpDocParam): string {
  return p.option ? `${p.type}, ${p.option}` : p.type;
}

function defaultText(a: OpDocAttribute): string {
  if (a.required) return 'required';
  if (a.default === undefined) return '';
  return `default ${Array.isArray(a.default) ? `[${a.default.join(', ')}]` : typeof a.default === 'string' ? JSON.stringify(a.default) : String(a.default)}`;
}

function Params({ title, params, testId }: { title: string; params: OpDocParam[]; testId: string }) {
  return (
    <div className="op-doc__group">
      <h4 className="op-doc__title">{title}</h4>
      {params.length === 0 ? (
        <p className="muted small">None.</p>
      ) : (
        <ul className="op-doc__list">
          {params.map((p, i) => (
            <li key={`${i}:${p.name}`} data-testid={testId} data-name={p.name}>
              <span className="mono">{p.name}</span> <span className="muted small">{paramLabel(p)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Doc({ lookup }: { lookup: OpDocLookup }) {
  if (!lookup.found) {
    return (
      <p className="muted small" data-testid="op-doc-missing">
        {lookup.reason}
      </p>
    );
  }
  const { doc, op } = lookup;
  return (
    <div className="op-doc" data-testid="op-doc" data-op={op} data-since={doc.since}>
      <p className="op-doc__since small" data-testid="op-doc-since">
        {op} · since version {doc.since}
        {lookup.opset !== undefined && <span className="muted"> (model opset {lookup.opset})</span>}
        {doc.deprecated && <span className="op-doc__deprecated"> · deprecated</span>}
      </p>
      {doc.summary && <p className="op-doc__summary small">{doc.summary}</p>}
      <Params title="Inputs" params={doc.inputs} testId="op-doc-input" />
      <Params title="Outputs" params={doc.outputs} testId="op-doc-output" />
      <div className="op-doc__group">
        <h4 className="op-doc__title">Attributes</h4>
        {doc.attributes.length === 0 ? (
          <p className="muted small">None.</p>
        ) : (
          <ul className="op-doc__list">
            {doc.attributes.map((a) => (
              <li key={a.name} data-testid="op-doc-attribute" data-name={a.name}>
                <span className="mono">{a.name}</span> <span className="muted small">{[a.type, defaultText(a)].filter(Boolean).join(', ')}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      {doc.constraints.length > 0 && (
        <div className="op-doc__group">
          <h4 className="op-doc__title">Type constraints</h4>
          <ul className="op-doc__list">
            {doc.constraints.map((c) => (
              <li key={c.name} data-testid="op-doc-constraint" data-name={c.name}>
                <span className="mono">{c.name}</span> <span className="muted small">{c.types.join(', ')}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** The ONNX schema of the node's operator at the model's opset for its domain. */
export function OpDocSection({ op, domain }: { op: string; domain: string }) {
  const state = useOpDocs();
  const opsets = useModelStore((s) => s.model?.summary.opsets);
  const d = schemaDomain(domain);
  const opset = opsets && Object.hasOwn(opsets, d) ? opsets[d] : undefined;
  return (
    <Section title="Operator" testId="section-op-doc">
      {state.status === 'loading' ? (
        <p className="muted small">Loading documentation…</p>
      ) : state.status === 'error' ? (
        <p className="inline-error small">{state.message}</p>
      ) : (
        <Doc lookup={findOpDoc(state.docs, domain, op, opset)} />
      )}
    </Section>
  );
}
