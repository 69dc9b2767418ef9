export interface BannerProps {
  kind: 'error' | 'notice' | 'warning';
  message: string;
  onDismiss: () => void;
}

/** A one-line message above the content: an error naming the problem, a warning (the action goes on), or a notice. */
export function Banner({ kind, message, onDismiss }: BannerProps) {
  return (
    <div className={`banner banner--${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={kind}>
      <span className="banner__icon" aria-hidden="true">
        {kind === 'notice' ? 'i' : '!'}
      </span>
      <span className="banner__message" data-testid={`${kind}-message`}>
        {message}
      </span>
      <button type="button" className="banner__close" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
