import type { ScheduleDefinition } from '@stepwise/core';

export interface CrontabOptions {
  schedules: readonly ScheduleDefinition[];
  /** Absolute paths: node, the stepwise CLI, the definitions file, the instance home, the log file. */
  node: string;
  bin: string;
  file: string;
  home: string;
  log: string;
  /** One line per schedule pattern with `CRON_TZ=<zone>` (cronie), instead of the one every-minute line. */
  cronTz: boolean;
}

export const CRONTAB_MARKER = '# stepwise-schedule:';

/** A word for sh inside a crontab line: single-quoted, and `%` escaped (cron turns a bare `%` into a newline). */
function shellWord(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%');
}

function tickCommand(o: CrontabOptions, names: readonly string[]): string {
  const words = [o.node, o.bin, 'schedule', 'tick', '-f', o.file, ...names].map(shellWord).join(' ');
  return `STEPWISE_HOME=${shellWord(o.home)} ${words} >> ${shellWord(o.log)} 2>&1`;
}

/**
 * The crontab text of `stepwise schedule export-crontab` (docs/scheduler.md). Default: each schedule's marker line,
 * then one every-minute line running `schedule tick` for all of them, which is DST-correct whatever the host's cron
 * knows of zones (the pass computes the instants). `cronTz`: per schedule its marker, `CRON_TZ=<zone>` and a line
 * per pattern calling `schedule tick NAME` at the pattern's own times.
 */
export function renderCrontab(o: CrontabOptions): string {
  const lines = [
    `# Stepwise schedules of ${o.file} (stepwise schedule export-crontab${o.cronTz ? ' --cron-tz' : ''}).`,
    '# Every line claims ticks under the key the daemons use: cron, daemons and other hosts launch each tick once.',
  ];
  if (o.schedules.length === 0) return `${[...lines, '# (the file exports no schedules)'].join('\n')}\n`;
  if (!o.cronTz) {
    for (const def of o.schedules)
      lines.push(`${CRONTAB_MARKER} ${def.name}  ${def.cron.join(' | ')}  ${def.timezone}`);
    lines.push(`* * * * * ${tickCommand(o, [])}`);
  } else {
    for (const def of o.schedules) {
      lines.push(`${CRONTAB_MARKER} ${def.name}`, `CRON_TZ=${def.timezone}`);
      for (const pattern of def.cron) lines.push(`${pattern} ${tickCommand(o, [def.name])}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
