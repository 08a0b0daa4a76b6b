/**
 * The fenced code blocks of a Markdown guide that a test runs. A block's info string says what to do with it:
 *
 *   ```ts runnable                 run it (tsx, from the guide's own scratch directory)
 *   ```ts file=pipeline.ts         write it there under that name (later blocks import or run it)
 *   ```ts runnable file=x.ts       both
 *   ```sh runnable                 run it with bash -euo pipefail in that directory
 *   ```sh runnable exit=2          ... and expect that exit code instead of 0
 *
 * Other blocks (no `runnable`, no `file=`) are illustrations and are not run.
 */
export interface CodeBlock {
  lang: string;
  /** 1-based line of the opening fence, for failure messages. */
  line: number;
  code: string;
  runnable: boolean;
  file?: string;
  exit: number;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    const words = (open[2] as string).trim().split(/\s+/).filter(Boolean);
    const value = (key: string) => words.find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
    blocks.push({
      lang: open[1] as string,
      line: start + 1,
      code: `${body.join('\n')}\n`,
      runnable: words.includes('runnable'),
      file: value('file'),
      exit: Number(value('exit') ?? 0),
    });
  }
  return blocks;
}
