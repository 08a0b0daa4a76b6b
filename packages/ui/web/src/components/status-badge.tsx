/** A run, step or tick status as a coloured pill. */
export function StatusBadge({ status }: { readonly status: string }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      {status}
    </span>
  );
}
