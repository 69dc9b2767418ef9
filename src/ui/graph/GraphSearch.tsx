import { useEffect, useRef, useState } from 'react';
import type { SearchHit } from '../../graph/scene-types';
import { useGraphStore } from '../../state/graph-store';

export interface GraphSearchProps {
  onPick(hit: SearchHit): void;
  onClose(): void;
}

/**
 * The search palette (Ctrl+K or /): finds nodes by name or op type (the worker ranks exact names,
 * op types, prefixes, substrings, then fuzzy matches); arrows choose, Enter jumps, Escape closes.
 */
export function GraphSearch({ onPick, onClose }: GraphSearchProps) {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);

  useEffect(() => input.current?.focus(), []);

  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      void useGraphStore
        .getState()
        .search(query)
        .then((h) => {
          if (!live) return;
          setHits(h);
          setActive(0);
        });
    }, 60);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query]);

  useEffect(() => {
    list.current?.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const pick = (hit: SearchHit | undefined) => {
    if (hit) onPick(hit);
  };

  return (
    <div className="gsearch" data-testid="graph-search" role="dialog" aria-label="Search the graph">
      <input
        ref={input}
        className="gsearch__input"
        data-testid="graph-search-input"
        placeholder="Find a node by name or op type…"
        value={query}
        spellCheck={false}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          } else if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, Math.max(0, hits.length - 1)));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            pick(hits[active]);
          }
        }}
      />
      {query.trim() === '' ? (
        <div className="gsearch__hint">
          Names (<code>layer.3</code>, <code>conv1</code>) or op types (<code>Softmax</code>). <kbd>↑</kbd> <kbd>↓</kbd> choose, <kbd>Enter</kbd> jumps, <kbd>Esc</kbd> closes.
        </div>
      ) : hits.length === 0 ? (
        <div className="gsearch__hint">No node matches “{query}”.</div>
      ) : (
        <ul className="gsearch__list" ref={list} role="listbox">
          {hits.map((h, i) => (
            <li
              key={h.id}
              role="option"
              aria-selected={i === active}
              className={`gsearch__hit${i === active ? ' gsearch__hit--active' : ''}`}
              data-testid="graph-search-hit"
              data-id={h.id}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(h);
              }}
            >
              <span className={`gsearch__op gsearch__op--${h.kind}`}>{h.kind === 'group' ? 'group' : h.op}</span>
              <span className="gsearch__name" title={h.label}>
                {h.label}
              </span>
              {h.path && (
                <span className="gsearch__path" title={h.path}>
                  {h.path}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
