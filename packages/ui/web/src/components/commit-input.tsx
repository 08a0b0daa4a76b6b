import { useEffect, useState } from 'preact/hooks';

interface CommitInputProps {
  readonly value: string;
  /** Called on Enter or blur with the typed text (not on each key: each commit is a new server query). */
  readonly onCommit: (value: string) => void;
  readonly placeholder?: string;
  readonly testId?: string;
  readonly type?: 'text' | 'number';
  readonly width?: string;
  readonly list?: string;
}

/**
 * A text box whose draft is its own: live re-renders of the page (stream batches) do not reset what is being typed,
 * and the value is committed to the URL on Enter or blur.
 */
export function CommitInput({ value, onCommit, placeholder, testId, type, width, list }: CommitInputProps) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const commit = () => {
    if (draft !== value) onCommit(draft);
  };
  return (
    <input
      data-testid={testId}
      type={type ?? 'text'}
      placeholder={placeholder}
      list={list}
      style={width ? { width } : undefined}
      value={draft}
      onInput={(e) => setDraft(e.currentTarget.value)}
      onKeyDown={(e) => e.key === 'Enter' && commit()}
      onBlur={commit}
    />
  );
}
