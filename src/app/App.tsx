import { lazy, Suspense, useDeferredValue, useEffect, useState } from 'react';
import { useCompressStore } from '../state/compress-store';
import { useModelStore } from '../state/model-store';
import { openDropped } from '../state/open-dropped';
import { useSessionStore } from '../state/session-store';
import { BenchPanel } from '../ui/bench/BenchPanel';
import { Banner } from '../ui/common/Banner';
import { CompressButton } from '../ui/compress/CompressButton';
import { DataPanel } from '../ui/data/DataPanel';
import { DropZone } from '../ui/common/DropZone';
import { EmptyState } from '../ui/common/EmptyState';
import { FilePicker } from '../ui/common/FilePicker';
import { GraphView } from '../ui/graph/GraphView';
import { Inspector } from '../ui/inspector/Inspector';
import { LoadingPanel } from '../ui/model/LoadingPanel';
import { ModelSummaryPanel } from '../ui/model/ModelSummaryPanel';
import { SummaryBar } from '../ui/recipe/SummaryBar';
import { RuntimeStatus } from '../ui/runtime/RuntimeStatus';
import { RecentMenu } from '../ui/session/RecentMenu';
import { RecentModels } from '../ui/session/RecentModels';
import { registerServiceWorker } from './offline';

// the explorer brings recharts: it loads with the tab, not with the page
const ExplorePanel = lazy(() => import('../ui/explore/ExplorePanel').then((m) => ({ default: m.ExplorePanel })));
const CompareView = lazy(() => import('../ui/compare/CompareView').then((m) => ({ default: m.CompareView })));

/** `?empty` in the address starts with the drop zone instead of the saved session or the built-in sample. */
const START_EMPTY = new URLSearchParams(window.location.search).has('empty');

/** The shell: header, messages, the current view, a status bar, and the window-wide drop zone. */
export function App() {
  const openSample = useModelStore((s) => s.openSample);
  const hasModel = useModelStore((s) => s.model !== undefined);
  const fileName = useModelStore((s) => s.model?.fileName);
  useEffect(() => {
    registerServiceWorker();
    if (START_EMPTY) return;
    // the last session (reload, crash, closed tab) comes back; a first visit opens the sample
    void useSessionStore
      .getState()
      .restoreLast()
      .then((restored) => {
        if (!restored && !useModelStore.getState().model && !useModelStore.getState().loading) return useModelStore.getState().openSample();
      });
  }, []);
  return (
    <div className={hasModel ? 'app app--studio' : 'app'}>
      <header className="topbar" data-testid="topbar">
        <div className="brand" title="ONNX Compression Studio">
          <img className="brand__logo" src="/favicon.svg" alt="" width={28} height={28} />
          <span className="brand__name">ONNX Compression Studio</span>
          {fileName !== undefined && (
            <span className="brand__file mono" data-testid="topbar-file" title={fileName}>
              {fileName}
            </span>
          )}
        </div>
        {hasModel && <SummaryBar />}
        <div className="topbar__actions">
          <button type="button" className="button button--secondary" data-testid="open-sample" title="Try the sample model" onClick={() => void openSample()}>
            {hasModel ? 'Sample' : 'Try the sample model'}
          </button>
          <RecentMenu />
          <FilePicker onFiles={(files) => void openDropped(files)}>Open model…</FilePicker>
          <CompressButton />
        </div>
      </header>
      <main className="main">
        <Messages />
        <Content />
      </main>
      <StatusBar />
      <DropZone onFiles={(files) => void openDropped(files)} />
    </div>
  );
}

function Messages() {
  const error = useModelStore((s) => s.error);
  const notice = useModelStore((s) => s.notice);
  const dismiss = useModelStore((s) => s.dismissError);
  const memoryWarning = useModelStore((s) => s.memoryWarning);
  const dismissWarning = useModelStore((s) => s.dismissMemoryWarning);
  const storageError = useSessionStore((s) => s.storageError);
  const dismissStorage = useSessionStore((s) => s.dismissStorageError);
  return (
    <>
      {storageError !== undefined && (
        <div data-testid="storage-error">
          <Banner kind="error" message={storageError} onDismiss={dismissStorage} />
        </div>
      )}
      {memoryWarning !== undefined && (
        <div data-testid="memory-warning">
          <Banner kind="warning" message={memoryWarning} onDismiss={dismissWarning} />
        </div>
      )}
      {error !== undefined && <Banner kind="error" message={error} onDismiss={dismiss} />}
      {error === undefined && notice !== undefined && <Banner kind="notice" message={notice} onDismiss={dismiss} />}
    </>
  );
}

type Tab = 'graph' | 'data' | 'explore' | 'overview' | 'bench' | 'compare';

const TABS: readonly Tab[] = ['graph', 'data', 'explore', 'overview', 'bench', 'compare'];
const TAB_LABELS: Record<Tab, string> = { graph: 'Graph', data: 'Data', explore: 'Explore', overview: 'Overview', bench: 'Benchmark', compare: 'Compare' };

function Content() {
  // The studio for a newly opened model renders as a transition: time-sliced, never one long task.
  const model = useDeferredValue(useModelStore((s) => s.model));
  const loading = useModelStore((s) => s.loading);
  const cancel = useModelStore((s) => s.cancelOpen);
  const restoring = useSessionStore((s) => s.restoring);
  const [chosen, setTab] = useState<Tab>('graph');
  // Compare needs a compression result of this model
  const hasResult = useCompressStore((s) => s.result !== undefined && s.result.model === model);
  const tab = chosen === 'compare' && !hasResult ? 'graph' : chosen;
  // The compression panel belongs to the Graph tab (it sits over the graph, beside the recipe):
  // another tab closes it; opening it (Compress, Result) from another tab comes back to Graph.
  useEffect(
    () =>
      useCompressStore.subscribe((s, prev) => {
        if (s.panelOpen && !prev.panelOpen) setTab('graph');
      }),
    [],
  );
  const choose = (t: Tab) => {
    if (t !== 'graph') useCompressStore.getState().setPanelOpen(false);
    setTab(t);
  };
  return (
    <>
      {loading && <LoadingPanel loading={loading} onCancel={cancel} />}
      {model ? (
        <div className="studio">
          <nav className="tabs" role="tablist">
            {TABS.map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                aria-selected={tab === t}
                className={tab === t ? 'tab tab--active' : 'tab'}
                data-testid={`tab-${t}`}
                disabled={t === 'compare' && !hasResult}
                title={t === 'compare' && !hasResult ? 'Compress the model first' : undefined}
                onClick={() => choose(t)}
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
          ) : tab === 'explore' ? (
            // the charts get the whole pane; the heat overlay shows on the Graph tab
            <div className="studio__body studio__body--explore" key={`${model.fileName}:${model.parseMs}`}>
              <Suspense fallback={<section className="explore-panel muted">Loading the explorer…</section>}>
                <ExplorePanel onOpenData={() => choose('data')} />
              </Suspense>
            </div>
          ) : tab === 'compare' ? (
            <Suspense fallback={<div className="compare" data-testid="compare-view" data-state="busy" />}>
              <CompareView key={`${model.fileName}:${model.parseMs}`} />
            </Suspense>
          ) : tab === 'data' ? (
            <DataPanel />
          ) : tab === 'overview' ? (
            <ModelSummaryPanel key={`${model.fileName}:${model.parseMs}`} model={model} />
          ) : (
            <BenchPanel onOpenData={() => choose('data')} />
          )}
        </div>
      ) : (
        !loading &&
        !restoring && (
          <EmptyState onFiles={(files) => void openDropped(files)} onSample={() => void useModelStore.getState().openSample()}>
            <div className="empty__recent">
              <div className="strong">Recent models</div>
              <RecentModels />
            </div>
          </EmptyState>
        )
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
