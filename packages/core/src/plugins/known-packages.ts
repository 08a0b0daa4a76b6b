/** The config blocks whose kinds plugins provide. */
export type KindSlot = 'execution' | 'storage' | 'io' | 'computeLogs';

/** A Stepwise package that core knows by name, and what it provides: loaded on first use, so core needs none. */
export interface KnownPackage {
  readonly package: string;
  /** Kinds it registers, by config block. */
  readonly kinds?: Partial<Record<KindSlot, readonly string[]>>;
  /** Top-level sections of stepwise.yaml it owns. */
  readonly sections?: readonly string[];
  /** Top-level `stepwise` commands it adds, with their one-line descriptions (for help before it is loaded). */
  readonly commands?: Readonly<Record<string, string>>;
}

/**
 * The one table of packages core loads by name. A new package adds its line here (its commands and kinds are
 * its own); a third-party plugin is named in stepwise.yaml's `plugins` instead.
 */
export const KNOWN_PACKAGES: readonly KnownPackage[] = [
  { package: '@stepwise/executor-queue', kinds: { execution: ['queue'], io: ['redis'] } },
  {
    package: '@stepwise/worker',
    commands: { worker: 'run a queue worker that executes steps', workers: 'list live workers' },
  },
  {
    package: '@stepwise/daemon',
    sections: ['runLauncher', 'runMonitoring', 'daemon', 'scheduler'],
    commands: {
      daemon: 'run the run queue, run monitoring and the scheduler',
      submit: 'queue a run for the daemon',
      schedule: 'list, preview, start, stop and tick schedules',
    },
  },
  { package: '@stepwise/ui', commands: { ui: 'serve the web UI' } },
  {
    package: '@stepwise/compile',
    commands: { airflow: 'compile a pipeline to an Airflow DAG', argo: 'compile a pipeline to an Argo Workflow' },
  },
];

/** The known package that provides `kind` in `slot`, if any. */
export function providerOf(slot: KindSlot, kind: string): string | undefined {
  return KNOWN_PACKAGES.find((p) => p.kinds?.[slot]?.includes(kind))?.package;
}

/** Kinds of `slot` that known packages provide. */
export function knownKinds(slot: KindSlot): string[] {
  return KNOWN_PACKAGES.flatMap((p) => p.kinds?.[slot] ?? []);
}

/** The known package that owns the stepwise.yaml section `name`, if any. */
export function sectionProviderOf(name: string): string | undefined {
  return KNOWN_PACKAGES.find((p) => p.sections?.includes(name))?.package;
}

/** The known package that adds the top-level command `name`, if any. */
export function commandProviderOf(name: string): KnownPackage | undefined {
  return KNOWN_PACKAGES.find((p) => p.commands !== undefined && Object.hasOwn(p.commands, name));
}
