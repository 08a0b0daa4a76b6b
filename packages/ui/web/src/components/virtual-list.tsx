import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

interface VirtualListProps {
  readonly count: number;
  readonly rowHeight: number;
  /** Renders row `index`; only the rows in view (plus a margin) are rendered. */
  readonly row: (index: number) => ComponentChildren;
  readonly class?: string;
  /** Keep the view at the bottom while new rows arrive, until the user scrolls up. */
  readonly follow?: boolean;
  /** Scroll so that this row is in view when it changes. */
  readonly scrollTo?: number | undefined;
  readonly testId?: string;
}

const OVERSCAN = 10;

/**
 * A list that renders only what is visible: the DOM holds about a screenful of rows whatever the count (a run's
 * event log may hold 40,000 events), and scrolling only re-renders the window.
 */
export function VirtualList({ count, rowHeight, row, follow, scrollTo, testId, ...rest }: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    setHeight(el.clientHeight);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && follow && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [count, follow]);

  useEffect(() => {
    const el = ref.current;
    if (el && scrollTo !== undefined && scrollTo >= 0) {
      const top = scrollTo * rowHeight;
      if (top < el.scrollTop || top > el.scrollTop + el.clientHeight - rowHeight)
        el.scrollTop = top - el.clientHeight / 3;
    }
  }, [scrollTo, rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} class="vrow" style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }} data-index={i}>
        {row(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class={`vlist ${rest.class ?? ''}`}
      data-testid={testId}
      onScroll={(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight * 2;
        setScrollTop(el.scrollTop);
      }}
    >
      <div class="vlist-space" style={{ height: `${count * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
