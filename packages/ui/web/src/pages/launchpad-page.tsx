import type { Diagnostic } from '@codemirror/lint';
import { useRef, useState } from 'preact/hooks';
import { ApiError, postJson } from '../api/client.js';
import type { ConfigIssueJson, SubmitRunResponse, ValidateResponse } from '../api/types.js';
import { Link } from '../components/link.js';
import { YamlEditor } from '../components/yaml-editor.js';
import { navigate } from '../lib/router.js';
import { readOnly } from '../lib/session.js';
import { rangeOfPath, yamlSyntaxErrors } from '../lib/yaml-paths.js';

const DRAFT_KEY = (p: string) => `stepwise.launchpad.${p}`;

/** A problem where the server located it, else where its path is in the text. */
function toDiagnostic(text: string, issue: ConfigIssueJson): Diagnostic {
  const located = issue.from !== undefined && issue.to !== undefined;
  const range = located ? { from: issue.from as number, to: issue.to as number } : rangeOfPath(text, issue.path);
  const from = Math.min(range.from, text.length);
  const to = Math.min(Math.max(range.to, from), text.length);
  return { from, to, severity: 'error', message: issue.path ? `${issue.path}: ${issue.message}` : issue.message };
}

/** Line (1-based) of a character offset. */
function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The launchpad: a YAML run-config editor validated as you type by the server's validator (the one launch uses),
 * each error underlined at its line with its path, Launch disabled while the config is invalid.
 */
export function LaunchpadPage({ pipeline }: { readonly pipeline: string }) {
  const [text, setText] = useState(() => localStorage.getItem(DRAFT_KEY(pipeline)) ?? '');
  const [issues, setIssues] = useState<{ issue: ConfigIssueJson; line: number }[]>([]);
  const [valid, setValid] = useState(false);
  const [checking, setChecking] = useState(true);
  const [launchError, setLaunchError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const lintSeq = useRef(0);

  const lint = async (doc: string): Promise<Diagnostic[]> => {
    const seq = ++lintSeq.current;
    setChecking(true);
    const syntax = yamlSyntaxErrors(doc);
    let found: ConfigIssueJson[];
    if (syntax.length > 0) {
      found = syntax.map((e) => ({ path: '', message: e.message, from: e.from, to: e.to }));
    } else {
      try {
        const r = await postJson<ValidateResponse>('/api/validate', { pipeline, runConfig: doc });
        found = r.ok ? [] : r.errors;
      } catch (e) {
        found = [{ path: '', message: (e as Error).message }];
      }
    }
    const diagnostics = found.map((i) => toDiagnostic(doc, i));
    // An answer overtaken by a newer check (the user kept typing) must not flip Launch back on.
    if (seq !== lintSeq.current) return diagnostics;
    setIssues(found.map((issue, n) => ({ issue, line: issue.line ?? lineOf(doc, diagnostics[n]?.from ?? 0) })));
    setValid(found.length === 0);
    setChecking(false);
    return diagnostics;
  };

  const launch = async () => {
    setBusy(true);
    setLaunchError(undefined);
    try {
      const r = await postJson<SubmitRunResponse>('/api/runs', { pipeline, runConfig: text });
      navigate(`/runs/${encodeURIComponent(r.runId)}`);
    } catch (e) {
      setLaunchError(e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section data-testid="launchpad">
      <div class="page-title">
        <h1>Launchpad</h1>
        <Link to={`/pipelines/${encodeURIComponent(pipeline)}`}>{pipeline}</Link>
        <span class="spacer" />
        {!readOnly.value && (
          <button
            type="button"
            class="primary"
            data-testid="launch"
            disabled={!valid || checking || busy}
            onClick={launch}
          >
            Launch run
          </button>
        )}
      </div>
      <YamlEditor
        initial={text}
        lintKey={pipeline}
        lint={lint}
        onChange={(t) => {
          setText(t);
          setChecking(true);
          localStorage.setItem(DRAFT_KEY(pipeline), t);
        }}
      />
      <div class="panel" style={{ marginTop: '10px' }} data-testid="config-status">
        {checking ? (
          <span class="muted">checking…</span>
        ) : valid ? (
          <span data-testid="config-valid">Config is valid.</span>
        ) : (
          <ul class="errors-list" data-testid="config-errors">
            {issues.map(({ issue, line }) => (
              <li key={`${issue.path}:${line}:${issue.message}`} data-line={line} data-path={issue.path}>
                {`line ${line}: ${issue.path || '(document)'}: ${issue.message}`}
              </li>
            ))}
          </ul>
        )}
        {launchError && <div class="error-box">{launchError}</div>}
      </div>
    </section>
  );
}
