import { z } from 'zod';
import type { ConfigContext } from './kinds.js';
import { type KindSlot, knownKinds, providerOf } from './known-packages.js';

interface AnyKind {
  readonly kind: string;
  readonly description: string;
  readonly options: z.ZodType | ((context: ConfigContext) => z.ZodType);
}

/** YAML writes `memory:` (no value) as null: read it as "no options". */
export const nullAsEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

/** Exactly one of `kinds` must be set in a `{ kind: options }` block. */
function oneKind(kinds: readonly string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const set = Object.keys(value).filter((k) => value[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          set.length === 0
            ? `choose one of: ${kinds.join(', ')}`
            : `choose only one of: ${kinds.join(', ')} (got ${set.join(', ')})`,
      });
    }
  };
}

const MAX_CACHED = 16;

/**
 * The kinds registered for one config block (`execution`, `storage`, `io`, `computeLogs`). Its schemas are derived
 * from what is registered when they are asked for, so a plugin registered later is accepted from then on.
 */
export class KindRegistry<K extends AnyKind> {
  private readonly kinds = new Map<string, K>();
  private seeded = false;
  private readonly schemas = new Map<string, z.ZodType>();

  /** `seed` gives core's own kinds; called on first use, so module load order does not matter. */
  constructor(
    readonly slot: KindSlot,
    /** What one kind is called in messages: 'executor', 'storage backend'. */
    readonly noun: string,
    private readonly seed: () => readonly K[],
  ) {}

  private entries(): Map<string, K> {
    if (!this.seeded) {
      this.seeded = true;
      for (const k of this.seed()) this.kinds.set(k.kind, k);
    }
    return this.kinds;
  }

  /** Adds a kind; one of the same name (core's included) is replaced. */
  register(kind: K): void {
    this.entries().set(kind.kind, kind);
    this.schemas.clear();
  }

  get(kind: string): K | undefined {
    return this.entries().get(kind);
  }

  /** Registered kinds. */
  registered(): K[] {
    return [...this.entries().values()];
  }

  /** Every kind a config may name: the registered ones, then those known packages provide (loaded on first use). */
  names(): string[] {
    return [...new Set([...this.entries().keys(), ...knownKinds(this.slot)])];
  }

  /** Why `kind` cannot be used: not loaded yet (a known package's), or unknown. */
  problem(kind: string): string {
    const provider = providerOf(this.slot, kind);
    if (provider) {
      return `the '${kind}' ${this.noun} comes from ${provider}, which is not loaded: register its plugin first (registerPlugin(plugin) with the plugin it exports, or loadPlugins(['${provider}']))`;
    }
    return `no ${this.noun} '${kind}' is registered (known: ${this.names().join(', ')}); a plugin's kind needs its module under plugins in stepwise.yaml`;
  }

  /**
   * The schema of the block: `one` kind set (a run config's `execution`, `storage`, `io`, `computeLogs`) or `any`
   * number of them (stepwise.yaml's `execution` defaults). Unknown keys are reported as such, a known package's kind
   * not loaded yet as that.
   */
  blockSchema(mode: 'one' | 'any', context?: ConfigContext): z.ZodType<Record<string, Record<string, unknown>>> {
    const key = `${mode}\0${context?.home ?? ''}\0${context?.baseDir ?? ''}`;
    let schema = this.schemas.get(key);
    if (!schema) {
      const shape: Record<string, z.ZodType> = {};
      for (const k of this.entries().values()) {
        const options = typeof k.options === 'function' ? this.optionsIn(k, context) : k.options;
        shape[k.kind] = nullAsEmpty(options).optional();
      }
      for (const kind of knownKinds(this.slot)) {
        shape[kind] ??= z
          .unknown()
          .superRefine((_, ctx) => ctx.addIssue({ code: 'custom', message: this.problem(kind) }))
          .optional();
      }
      // Not strict: an unknown kind gets a message naming the known ones and where a plugin's kind comes from.
      const unknownKind = z.unknown().superRefine((_, ctx) =>
        ctx.addIssue({
          code: 'custom',
          message: `unknown key: no ${this.noun} of that name is registered (known: ${this.names().join(', ')}); a plugin's kind needs its module under plugins in stepwise.yaml`,
        }),
      );
      const block = z.object(shape).catchall(unknownKind);
      schema = mode === 'one' ? block.superRefine(oneKind(this.names())) : block;
      if (this.schemas.size >= MAX_CACHED) this.schemas.clear();
      this.schemas.set(key, schema);
    }
    return schema as z.ZodType<Record<string, Record<string, unknown>>>;
  }

  private optionsIn(k: K, context: ConfigContext | undefined): z.ZodType {
    if (!context) throw new Error(`the ${this.noun} '${k.kind}' needs the instance home to read its options`);
    return (k.options as (context: ConfigContext) => z.ZodType)(context);
  }
}
