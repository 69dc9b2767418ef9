import { useEffect, useRef } from 'react';
import { RecentModels } from './RecentModels';

/** "Recent" in the top bar: a drop-down with the recent models (closes on Escape or a click outside). */
export function RecentMenu() {
  const details = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = () => details.current?.removeAttribute('open');
    const onPointer = (e: PointerEvent) => {
      if (details.current && !details.current.contains(e.target as Node)) close();
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, []);
  return (
    <details className="recent-menu" ref={details} data-testid="recent-menu">
      <summary className="button button--secondary" data-testid="recent-menu-button">
        Recent
      </summary>
      <div className="recent-menu__panel card">
        <div className="strong recent-menu__title">Recent models (kept in this browser)</div>
        <RecentModels onOpened={() => details.current?.removeAttribute('open')} />
      </div>
    </details>
  );
}
