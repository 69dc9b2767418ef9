import { lazy, Suspense, useDeferredValue, useEffect, useState } from 'react';
import { useCompressStore } from '../state/compress-store';
import { useModelStore } from '../state/model-store';
import { BenchPanel } from '../ui/bench/BenchPanel';
import { Banner } from '../ui/common/Banner';
import { CompressButton } from '../ui/compress/CompressButton';
import { DropZone } from '../ui/common/DropZone';
import { EmptyState } from '../ui/common/EmptyState';
import { FilePicker } from '../ui/common/FilePicker';
import { GraphView } from '../ui/graph/GraphView';
import { Inspector } from '../ui/inspector/Inspector';
import { LoadingPanel } from '../ui/model/LoadingPanel';
import { ModelSummaryPanel } from '../ui/model/ModelSummaryPanel';
import { SummaryBar } from '../ui/recipe/SummaryBar';
import { RuntimeStatus } from '../ui/runtime/RuntimeStatus';

const CompareView = lazy(() => import('../ui/compare/CompareView').then((m) => ({ default: m.CompareView })));

/** `?empty` in the address starts with the drop zone instead of the built-in sample. */
const START_EMPTY = new URLSearchParams(window.location.search).has('empty');

/** The shell: header, messages, the current view, a status bar, and the window-wide drop zone. */
export function App() {
  const openFiles = useModelStore((s) => s.openFiles);
  const openSample = useModelStore((s) => s.openSample);
  const hasModel = useModelStore((s) => s.model !== undefined);
  useEffect(() => {
    if (!START_EMPTY) void useModelStore.getState().openSample();
  }, []);
  return (
    <div className={hasModel ? 'app app--studio' : 'app'}>
      <header className="topbar">
        <div className="brand">
          <img className="brand__logo" src="/favicon.svg" alt="" width={28} height={28} />
          <span className="brand__name">ONNX Compression Studio</span>
        </div>
        {hasModel && <SummaryBar />}
        <div className="topbar__actions">
          <button type="button" className="button button--secondary" data-testid="open-sample" onClick={() => void openSample()}>
            Try the sample model
          </button>
          <FilePicker onFiles={(files) => void openFiles(files)}>Open model…</FilePicker>
          <CompressButton />
        </div>
      </header>
      <main className="main">
        <Messages />
        <Content />
      </main>
      <StatusBar />
      <DropZone onFiles={(files) => void openFiles(files)} />
    </div>
  );
}

function Messages() {
  const error = useModelStore((s) => s.error);
  const notice = useModelStore((s) => s.notice);
  const dismiss = useModelStore((s) => s.dismissError);
  if (error !== undefined) return <Banner kind="error" message={error} onDismiss={dismiss} />;
  if (notice !== undefined) return <Banner kind="notice" message={notice} onDismiss={dismiss} />;
  return null;
}

type Tab = 'graph' | 'overview' | 'compare' | 'bench';

const TAB_LABELS: Record<Tab, string> = { graph: 'Graph', overview: 'Overview', compare: 'Compare', bench: 'Benchmark' };

function Content() {
  // The studio for a newly opened model renders as a transition: time-sliced, never one long task.
  const model = useDeferredValue(useModelStore((s) => s.model));
  const loading = useModelStore((s) => s.loading);
  const openFiles = useModelStore((s) => s.openFiles);
  const cancel = useModelStore((s) => s.cancelOpen);
  const [chosen, setTab] = useState<Tab>('graph');
  // Compare needs a compression result of this model
  const hasResult = useCompressStore((s) => s.result !== undefined && s.result.model === model);
  const tab = chosen === 'compare' && !hasResult ? 'graph' : chosen;
  return (
    <>
      {loading && <LoadingPanel loading={loading} onCancel={cancel} />}
      {model ? (
        <div className="studio">
          <nav className="tabs" role="tablist">
            {(['graph', 'overview', 'compare', 'bench'] as const).map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                aria-selected={tab === t}
                className={tab === t ? 'tab tab--active' : 'tab'}
                data-testid={`tab-${t}`}
                disabled={t === 'compare' && !hasResult}
                title={t === 'compare' && !hasResult ? 'Compress the model first' : undefined}
                onClick={() => setTab(t)}
              >
                {TAB_LABELS[t]}
              </button>
            ))}
          </nav>
          {tab === 'graph' ? (
            <div className="studio__body" key={`${model.fileName}:${model.parseMs}`}>
              <GraphView />
              <Inspector />
            </div>
          ) : tab === 'compare' ? (
            <Suspense fallback={<div className="compare" data-testid="compare-view" data-state="busy" />}>
              <CompareView key={`${model.fileName}:${model.parseMs}`} />
            </Suspense>
          ) : tab === 'overview' ? (
            <ModelSummaryPanel key={`${model.fileName}:${model.parseMs}`} model={model} />
          ) : (
            <BenchPanel />
          )}
        </div>
      ) : (
        !loading && <EmptyState onFiles={(files) => void openFiles(files)} onSample={() => void useModelStore.getState().openSample()} />
      )}
    </>
  );
}

function StatusBar() {
  const runtimes = useModelStore((s) => s.runtimes);
  const check = useModelStore((s) => s.checkRuntimes);
  return (
    <footer className="statusbar">
      <span className="statusbar__local">Local only: files never leave this tab</span>
      <RuntimeStatus runtimes={runtimes} onCheck={() => void check()} />
    </footer>
  );
}
