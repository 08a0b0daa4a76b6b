import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic, forceLinting, linter, lintGutter } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'preact/hooks';

interface YamlEditorProps {
  readonly initial: string;
  readonly onChange: (text: string) => void;
  /** Checks the text; its diagnostics are underlined and marked in the gutter. Called as the user types. */
  readonly lint: (text: string) => Promise<Diagnostic[]>;
  /** Changing it re-runs the lint (e.g. another pipeline picked). */
  readonly lintKey: string;
}

/** CodeMirror 6 with YAML highlighting and validation as you type (debounced by the linter). */
export function YamlEditor({ initial, onChange, lint, lintKey }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const lintRef = useRef(lint);
  lintRef.current = lint;
  const changeRef = useRef(onChange);
  changeRef.current = onChange;

  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      doc: initial,
      parent: host.current,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        linter((ev) => lintRef.current(ev.state.doc.toString()), { delay: 250 }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) changeRef.current(u.state.doc.toString());
        }),
      ],
    });
    view.current = v;
    return () => v.destroy();
  }, []);

  useEffect(() => {
    if (view.current) forceLinting(view.current);
  }, [lintKey]);

  return <div class="yaml-editor" ref={host} data-testid="yaml-editor" />;
}
