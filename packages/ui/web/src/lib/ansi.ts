/**
 * ANSI SGR colour codes (`ESC[31m`) parsed into styled text segments. The text is only ever rendered as text nodes,
 * so a log line holding HTML stays text; only class names and numeric colours come from the escape codes.
 */
export interface AnsiSegment {
  readonly text: string;
  readonly classes: string;
  readonly color?: string;
  readonly background?: string;
}

interface SgrState {
  fg?: string;
  bg?: string;
  fgClass?: string;
  bgClass?: string;
  bold: boolean;
  italic: boolean;
  underline: boolean;
}

// Any CSI sequence; only those ending in `m` (SGR) change the style, the others are dropped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC by definition.
const CSI = /\x1b\[([0-9;]*)([A-Za-z])/g;

const PALETTE_16 = [
  '0,0,0',
  '205,49,49',
  '13,188,121',
  '229,229,16',
  '36,114,200',
  '188,63,188',
  '17,168,205',
  '229,229,229',
];

function color256(n: number): string {
  if (n < 16) return `rgb(${PALETTE_16[n % 8] ?? '0,0,0'})`;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}

function apply(state: SgrState, params: number[]): void {
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as number;
    if (p === 0) {
      Object.assign(state, { bold: false, italic: false, underline: false });
      delete state.fg;
      delete state.bg;
      delete state.fgClass;
      delete state.bgClass;
    } else if (p === 1) state.bold = true;
    else if (p === 3) state.italic = true;
    else if (p === 4) state.underline = true;
    else if (p === 22) state.bold = false;
    else if (p === 23) state.italic = false;
    else if (p === 24) state.underline = false;
    else if ((p >= 30 && p <= 37) || (p >= 90 && p <= 97)) {
      state.fgClass = `ansi-fg-${p}`;
      delete state.fg;
    } else if (p === 39) {
      delete state.fg;
      delete state.fgClass;
    } else if ((p >= 40 && p <= 47) || (p >= 100 && p <= 107)) {
      state.bgClass = `ansi-bg-${p}`;
      delete state.bg;
    } else if (p === 49) {
      delete state.bg;
      delete state.bgClass;
    } else if (p === 38 || p === 48) {
      const mode = params[i + 1];
      let value: string | undefined;
      if (mode === 5 && params[i + 2] !== undefined) {
        value = color256(Math.min(255, params[i + 2] as number));
        i += 2;
      } else if (mode === 2 && params[i + 4] !== undefined) {
        const [r, g, b] = [params[i + 2], params[i + 3], params[i + 4]].map((x) => Math.min(255, x ?? 0));
        value = `rgb(${r},${g},${b})`;
        i += 4;
      }
      if (value === undefined) continue;
      if (p === 38) {
        state.fg = value;
        delete state.fgClass;
      } else {
        state.bg = value;
        delete state.bgClass;
      }
    }
  }
}

function segment(text: string, s: SgrState): AnsiSegment {
  const classes = [s.fgClass, s.bgClass, s.bold && 'ansi-bold', s.italic && 'ansi-italic', s.underline && 'ansi-u']
    .filter(Boolean)
    .join(' ');
  return {
    text,
    classes,
    ...(s.fg !== undefined && { color: s.fg }),
    ...(s.bg !== undefined && { background: s.bg }),
  };
}

/** Splits one line (or a whole text) into segments; escape codes never reach the output text. */
export function parseAnsi(input: string): AnsiSegment[] {
  const out: AnsiSegment[] = [];
  const state: SgrState = { bold: false, italic: false, underline: false };
  let last = 0;
  for (const match of input.matchAll(CSI)) {
    const at = match.index ?? 0;
    if (at > last) out.push(segment(input.slice(last, at), state));
    if (match[2] === 'm')
      apply(
        state,
        (match[1] || '0').split(';').map((x) => Number(x) || 0),
      );
    last = at + match[0].length;
  }
  if (last < input.length) out.push(segment(input.slice(last), state));
  return out;
}

/** The text split into lines of segments, the style carried across line ends (as a terminal does). */
export function parseAnsiLines(input: string): AnsiSegment[][] {
  const lines: AnsiSegment[][] = [[]];
  for (const seg of parseAnsi(input)) {
    const parts = seg.text.split('\n');
    parts.forEach((text, i) => {
      if (i > 0) lines.push([]);
      if (text !== '') (lines[lines.length - 1] as AnsiSegment[]).push({ ...seg, text });
    });
  }
  if (lines.length > 1 && (lines[lines.length - 1] as AnsiSegment[]).length === 0) lines.pop();
  return lines;
}
