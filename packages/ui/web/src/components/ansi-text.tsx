import type { AnsiSegment } from '../lib/ansi.js';

/** One line of coloured text: each segment a span whose child is a text node (never HTML). */
export function AnsiLine({ segments }: { readonly segments: readonly AnsiSegment[] }) {
  return (
    <>
      {segments.map((s, i) => {
        if (!s.classes && s.color === undefined && s.background === undefined) return s.text;
        const style: Record<string, string> = {};
        if (s.color !== undefined) style.color = s.color;
        if (s.background !== undefined) style.background = s.background;
        return (
          <span key={i} class={s.classes || undefined} style={style}>
            {s.text}
          </span>
        );
      })}
    </>
  );
}
