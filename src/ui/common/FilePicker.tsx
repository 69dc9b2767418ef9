import { useRef, type ReactNode } from 'react';

export interface FilePickerProps {
  onFiles: (files: File[]) => void;
  children: ReactNode;
  variant?: 'primary' | 'secondary';
  testId?: string;
}

/** A button that opens the file dialog; several files may be chosen (model + external data). */
export function FilePicker({ onFiles, children, variant = 'primary', testId = 'file-input' }: FilePickerProps) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className={`button button--${variant}`} onClick={() => input.current?.click()}>
        {children}
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid={testId}
        onChange={(e) => {
          const files = Array.from(e.currentTarget.files ?? []);
          e.currentTarget.value = ''; // so the same file can be chosen again
          if (files.length > 0) onFiles(files);
        }}
      />
    </>
  );
}
