import { plainError } from '../api';

/** An API error in plain words, announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {plainError(error)}
    </p>
  );
}
