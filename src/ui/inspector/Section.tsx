import { useState, type ReactNode } from 'react';

export interface SectionProps {
  title: ReactNode;
  /** shown beside the title (counts, actions) */
  aside?: ReactNode;
  children: ReactNode;
  defaultOpen?: boolean;
  testId?: string;
}

/** A collapsible part of the inspector. */
export function Section({ title, aside, children, defaultOpen = true, testId }: SectionProps) {
  const [open, setOpen] = useState(defaultOpen);
  return (
    <section className={open ? 'insp-section' : 'insp-section insp-section--closed'} data-testid={testId}>
      <header className="insp-section__head">
        <button type="button" className="insp-section__toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          <svg className="insp-section__chevron" viewBox="0 0 12 12" aria-hidden>
            <path d="M4 2.5 7.5 6 4 9.5" />
          </svg>
          {title}
        </button>
        {aside && <div className="insp-section__aside">{aside}</div>}
      </header>
      {open && <div className="insp-section__body">{children}</div>}
    </section>
  );
}
