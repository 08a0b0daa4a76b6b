import { useState } from 'preact/hooks';
import { postJson } from '../api/client.js';
import type { CancelRunResponse, ReexecuteRequest, ReexecuteResponse, RunDetail } from '../api/types.js';
import { navigate } from '../lib/router.js';
import { readOnly } from '../lib/session.js';

interface RunActionsProps {
  readonly run: RunDetail;
  readonly hasFailure: boolean;
  /** Plan keys ticked in the steps table, for "re-execute selected". */
  readonly selection: readonly string[];
}

const ENDED = new Set(['SUCCESS', 'FAILURE', 'CANCELED']);

/** Cancel and the re-execute options; hidden in read-only mode. A re-execution opens the child run. */
export function RunActions({ run, hasFailure, selection }: RunActionsProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (readOnly.value) return null;
  const id = encodeURIComponent(run.runId);
  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const reexecute = (body: ReexecuteRequest) =>
    act(async () => {
      const r = await postJson<ReexecuteResponse>(`/api/runs/${id}/reexecute`, body);
      navigate(`/runs/${encodeURIComponent(r.runId)}`);
    });
  const ended = ENDED.has(run.status);
  return (
    <span class="toolbar" style={{ margin: 0 }}>
      {!ended && (
        <button
          type="button"
          class="danger"
          data-testid="cancel-run"
          disabled={busy || run.status === 'CANCELING'}
          onClick={() => act(async () => void (await postJson<CancelRunResponse>(`/api/runs/${id}/cancel`)))}
        >
          Cancel
        </button>
      )}
      {ended && (
        <>
          <button type="button" data-testid="reexecute-all" disabled={busy} onClick={() => reexecute({})}>
            Re-execute all
          </button>
          {hasFailure && (
            <button
              type="button"
              data-testid="reexecute-failure"
              disabled={busy}
              onClick={() => reexecute({ fromFailure: true })}
            >
              Re-execute from failure
            </button>
          )}
          <button
            type="button"
            data-testid="reexecute-selected"
            disabled={busy || selection.length === 0}
            title="tick steps in the table first"
            onClick={() => reexecute({ select: selection.join(',') })}
          >
            Re-execute selected ({selection.length})
          </button>
        </>
      )}
      {error && <span class="error-box">{error}</span>}
    </span>
  );
}
