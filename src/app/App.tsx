import { useModelStore } from '../state/model-store';
import { Banner } from '../ui/common/Banner';
import { DropZone } from '../ui/common/DropZone';
import { EmptyState } from '../ui/common/EmptyState';
import { FilePicker } from '../ui/common/FilePicker';
import { LoadingPanel } from '../ui/model/LoadingPanel';
import { ModelSummaryPanel } from '../ui/model/ModelSummaryPanel';
import { RuntimeStatus } from '../ui/runtime/RuntimeStatus';

/** The shell: header, messages, the current view, a status bar, and the window-wide drop zone. */
export function App() {
  const openFiles = useModelStore((s) => s.openFiles);
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <img className="brand__logo" src="/favicon.svg" alt="" width={28} height={28} />
          <span className="brand__name">ONNX Compression Studio</span>
        </div>
        <div className="topbar__actions">
          <FilePicker onFiles={(files) => void openFiles(files)}>Open model…</FilePicker>
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

function Content() {
  const model = useModelStore((s) => s.model);
  const loading = useModelStore((s) => s.loading);
  const openFiles = useModelStore((s) => s.openFiles);
  const cancel = useModelStore((s) => s.cancelOpen);
  return (
    <>
      {loading && <LoadingPanel loading={loading} onCancel={cancel} />}
      {model ? (
        <ModelSummaryPanel key={`${model.fileName}:${model.parseMs}`} model={model} />
      ) : (
        !loading && <EmptyState onFiles={(files) => void openFiles(files)} />
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
