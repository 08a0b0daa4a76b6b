import { useEffect, useMemo, useState } from 'preact/hooks';
import { getJson, queryString } from '../api/client.js';
import type { LogsResponse } from '../api/types.js';
import { parseAnsiLines } from '../lib/ansi.js';
import { AnsiLine } from './ansi-text.js';
import { VirtualList } from './virtual-list.js';

interface ComputeLogsProps {
  readonly runId: string;
  readonly stepKey: string;
  /** While true the logs are fetched again every second (from the last offsets: only what is new). */
  readonly live: boolean;
}

const POLL_MS = 1000;

/** A step's stdout and stderr, with ANSI colours, followed live while it runs. Text only, never HTML. */
export function ComputeLogs({ runId, stepKey, live }: ComputeLogsProps) {
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [text, setText] = useState({ stdout: '', stderr: '' });
  const [error, setError] = useState<string>();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offsets = { stdout: 0, stderr: 0 };
    let acc = { stdout: '', stderr: '' };
    setText(acc);
    const path = `/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(stepKey)}`;
    const load = async () => {
      try {
        const r = await getJson<LogsResponse>(
          `${path}${queryString({ stdoutFrom: offsets.stdout, stderrFrom: offsets.stderr })}`,
        );
        if (stopped) return;
        if (r.stdout || r.stderr) {
          acc = { stdout: acc.stdout + r.stdout, stderr: acc.stderr + r.stderr };
          setText(acc);
        }
        offsets = { stdout: r.stdoutLength, stderr: r.stderrLength };
        setError(undefined);
      } catch (e) {
        if (!stopped) setError((e as Error).message);
      }
      if (!stopped && live) timer = setTimeout(load, POLL_MS);
    };
    void load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [runId, stepKey, live]);

  const lines = useMemo(() => parseAnsiLines(text[stream]), [text, stream]);
  return (
    <div data-testid="compute-logs">
      <div class="tabs">
        {(['stdout', 'stderr'] as const).map((s) => (
          <button
            key={s}
            type="button"
            class={s === stream ? 'active' : ''}
            data-testid={`logs-${s}`}
            onClick={() => setStream(s)}
          >
            {s} ({text[s].length ? `${text[s].split('\n').length - (text[s].endsWith('\n') ? 1 : 0)} lines` : 'empty'})
          </button>
        ))}
        {live && <span class="muted"> live</span>}
      </div>
      {error && <div class="error-box">{error}</div>}
      <VirtualList
        class="term"
        testId={`term-${stream}`}
        count={lines.length}
        rowHeight={17}
        follow
        row={(i) => <AnsiLine segments={lines[i] ?? []} />}
      />
    </div>
  );
}
