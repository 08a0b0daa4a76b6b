import { DefinitionError, op, pipeline, repository, schedule } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const etl = pipeline({ name: 'etl', build: () => one() });

function definitionError(fn: () => unknown): DefinitionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DefinitionError);
    return err as DefinitionError;
  }
  throw new Error('expected a DefinitionError');
}

describe('schedule()', () => {
  it('resolves every option of SPEC §7 to its default', () => {
    const s = schedule({ name: 'nightly', pipeline: etl, cron: '30 2 * * *' });
    expect(s).toMatchObject({
      kind: 'schedule',
      name: 'nightly',
      cron: ['30 2 * * *'],
      timezone: 'UTC',
      tags: {},
      catchup: { policy: 'latest', maxRuns: 5, windowMs: 86_400_000 },
      overlap: 'allow',
      dst: { gap: 'shift', fold: 'first' },
      jitterMs: 0,
      defaultStatus: 'running',
    });
    expect(s.definitionHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keeps the given options, an array of crons, and functions', () => {
    const runConfig = () => ({ ops: {} });
    const shouldRun = () => true;
    const s = schedule({
      name: 'many',
      pipeline: etl,
      cron: ['0 9 * * 1-5', '0 12 * * 0,6'],
      timezone: 'America/New_York',
      runConfig,
      tags: { team: 'data' },
      catchup: { policy: 'all', maxRuns: 3, windowMs: 1000 },
      overlap: 'cancel-other',
      dst: { gap: 'skip', fold: 'both' },
      jitterMs: 500,
      defaultStatus: 'stopped',
      shouldRun,
    });
    expect(s.cron).toEqual(['0 9 * * 1-5', '0 12 * * 0,6']);
    expect(s.runConfig).toBe(runConfig);
    expect(s.shouldRun).toBe(shouldRun);
    expect(s.catchup).toEqual({ policy: 'all', maxRuns: 3, windowMs: 1000 });
    expect(s.dst).toEqual({ gap: 'skip', fold: 'both' });
    expect(s.overlap).toBe('cancel-other');
  });

  it('changes its definition hash with cron or timezone only', () => {
    const base = schedule({ name: 'a', pipeline: etl, cron: '0 * * * *' });
    expect(schedule({ name: 'a', pipeline: etl, cron: '0 * * * *', jitterMs: 9 }).definitionHash).toBe(
      base.definitionHash,
    );
    expect(schedule({ name: 'a', pipeline: etl, cron: '5 * * * *' }).definitionHash).not.toBe(base.definitionHash);
    expect(schedule({ name: 'a', pipeline: etl, cron: '0 * * * *', timezone: 'Asia/Tokyo' }).definitionHash).not.toBe(
      base.definitionHash,
    );
  });

  it.each([
    [{ cron: '61 * * * *' }, /schedule 'bad': cron '61 \* \* \* \*' is invalid: .*minute/],
    [{ cron: '0 30 2 * * *' }, /schedule 'bad': cron .*5 parts.*use 5 fields/],
    [{ cron: '* * *' }, /schedule 'bad': cron '\* \* \*' is invalid/],
    [{ cron: ['0 * * * *', 'nope'] }, /schedule 'bad': cron\[1\] 'nope' is invalid/],
    [{ cron: [] }, /schedule 'bad': cron must be/],
    [{ timezone: 'Mars/Olympus' }, /schedule 'bad': timezone "Mars\/Olympus" is not an IANA time zone/],
    [{ overlap: 'never' }, /schedule 'bad': overlap must be one of 'skip', 'buffer-one', 'allow', 'cancel-other'/],
    [{ catchup: { policy: 'some' } }, /schedule 'bad': catchup.policy must be one of/],
    [{ catchup: { maxRuns: -1 } }, /schedule 'bad': catchup.maxRuns must be a number >= 0/],
    [{ catchup: { maxRuns: 1.5 } }, /schedule 'bad': catchup.maxRuns must be an integer/],
    [{ dst: { gap: 'later' } }, /schedule 'bad': dst.gap must be one of 'shift', 'skip'/],
    [{ dst: { fold: 'middle' } }, /schedule 'bad': dst.fold must be one of 'first', 'last', 'both'/],
    [{ jitterMs: Number.NaN }, /schedule 'bad': jitterMs must be a number >= 0/],
    [{ defaultStatus: 'paused' }, /schedule 'bad': defaultStatus must be one of/],
    [{ runConfig: 'x' }, /schedule 'bad': runConfig must be an object or a function/],
    [{ shouldRun: true }, /schedule 'bad': shouldRun must be a function/],
    [{ tags: { a: 1 } }, /schedule 'bad': tags.a must be a string/],
    [{ pipeline: {} }, /schedule 'bad': pipeline must be a pipeline\(\) definition/],
  ])('refuses %j naming the schedule and the field', (override, message) => {
    const options = { name: 'bad', pipeline: etl, cron: '0 * * * *', ...override };
    expect(definitionError(() => schedule(options as never)).message).toMatch(message);
  });

  it('refuses a bad name', () => {
    expect(definitionError(() => schedule({ name: 'a b', pipeline: etl, cron: '* * * * *' })).message).toMatch(
      /schedule name "a b" is invalid/,
    );
  });
});

describe('repository() with schedules', () => {
  it('holds them by name', () => {
    const s = schedule({ name: 'hourly', pipeline: etl, cron: '0 * * * *' });
    expect(repository({ pipelines: [etl], schedules: [s] }).schedules.get('hourly')).toBe(s);
  });

  it('refuses a schedule of a pipeline not in the repository, duplicates, and non-schedules', () => {
    const other = pipeline({ name: 'other', build: () => one() });
    const s = schedule({ name: 'hourly', pipeline: other, cron: '0 * * * *' });
    expect(definitionError(() => repository({ pipelines: [etl], schedules: [s] })).message).toMatch(
      /schedule 'hourly': pipeline 'other' is not one of this repository's pipelines/,
    );
    const t = schedule({ name: 'hourly', pipeline: etl, cron: '0 * * * *' });
    expect(definitionError(() => repository({ pipelines: [etl], schedules: [t, t] })).message).toMatch(
      /two schedules are named 'hourly'/,
    );
    expect(definitionError(() => repository({ pipelines: [etl], schedules: [{} as never] })).message).toMatch(
      /schedules must be schedule\(\) definitions/,
    );
  });
});
