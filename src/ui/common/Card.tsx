import type { ReactNode } from 'react';

export interface CardProps {
  title?: ReactNode;
  aside?: ReactNode;
  children: ReactNode;
  className?: string;
  testId?: string;
}

export function Card({ title, aside, children, className, testId }: CardProps) {
  return (
    <section className={`card${className ? ` ${className}` : ''}`} data-testid={testId}>
      {(title !== undefined || aside !== undefined) && (
        <header className="card__header">
          {title !== undefined && <h2 className="card__title">{title}</h2>}
          {aside}
        </header>
      )}
      {children}
    </section>
  );
}
