import { useRef } from 'react';
import { RecentModels } from './RecentModels';

/** "Recent" in the top bar: a drop-down with the recent models. */
export function RecentMenu() {
  const details = useRef<HTMLDetailsElement>(null);
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
