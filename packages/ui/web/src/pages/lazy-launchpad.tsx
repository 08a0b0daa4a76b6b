import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

type Launchpad = FunctionComponent<{ pipeline: string }>;
let loaded: Launchpad | undefined;

/** The launchpad with CodeMirror is its own chunk, fetched on first visit: the run pages load without it. */
export function LazyLaunchpad({ pipeline }: { readonly pipeline: string }) {
  const [Page, setPage] = useState<Launchpad | undefined>(() => loaded);
  useEffect(() => {
    if (Page) return;
    void import('./launchpad-page.js').then((m) => {
      loaded = m.LaunchpadPage;
      setPage(() => m.LaunchpadPage);
    });
  }, [Page]);
  return Page ? <Page pipeline={pipeline} /> : <p class="muted">Loading the editor…</p>;
}
