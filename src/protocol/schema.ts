// Owns the tiny schema DSL every wire message is checked with at decode time: strings, numbers,
// integers, booleans, bytes, enums, arrays, objects, records, optional/nullable — each with
// bounds. Objects keep only declared fields (unknown fields are ignored, AD-25). Never throws on
// input: a mismatch becomes a SchemaIssue naming the field path, what was expected and what came.
//
// Hand-written (≈200 lines) rather than a validator dependency: the hot path validates every
// message, must not allocate per field on success beyond the cleaned object, and needs inference.

export interface SchemaIssue {
  /** Dotted path from the message root, e.g. `entries[3].term`. */
  readonly path: string;
  readonly expected: string;
  /** A short description of what arrived (`string`, `number 1.5`, `missing`, …). */
  readonly actual: string;
}

/** Sentinel a failed check returns (the issue is recorded in the context). */
export const FAIL: unique symbol = Symbol('schema-fail');
export type Fail = typeof FAIL;

/** Collects the first issue found during one validation. */
export interface Ctx {
  issue: SchemaIssue | null;
}

/** A schema for values of type T. Build with `s.*`; check with `validate`. */
export abstract class Schema<T> {
  /** Phantom for inference; never set. */
  declare readonly _type: T;
  abstract readonly expected: string;
  /** @internal */
  abstract check(value: unknown, ctx: Ctx, path: string): T | Fail;

  protected fail(ctx: Ctx, path: string, value: unknown, expected: string = this.expected): Fail {
    ctx.issue ??= { path, expected, actual: describeValue(value) };
    return FAIL;
  }
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export type ValidationResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issue: SchemaIssue };

export function validate<T>(schema: Schema<T>, value: unknown, rootPath = ''): ValidationResult<T> {
  const ctx: Ctx = { issue: null };
  const out = schema.check(value, ctx, rootPath);
  if (out === FAIL) {
    return {
      ok: false,
      issue: ctx.issue ?? {
        path: rootPath,
        expected: schema.expected,
        actual: describeValue(value),
      },
    };
  }
  return { ok: true, value: out };
}

/** Default bounds so that no schema is unbounded by accident (a frame is ≤ 1 MiB anyway). */
export const DEFAULT_MAX_STRING_LENGTH = 64 * 1024;
export const DEFAULT_MAX_ITEMS = 100_000;
export const DEFAULT_MAX_RECORD_KEYS = 10_000;

export class StringSchema extends Schema<string> {
  readonly expected: string;
  constructor(
    private readonly minLength: number,
    private readonly maxLength: number,
  ) {
    super();
    this.expected = `string(${minLength}..${maxLength})`;
  }
  check(v: unknown, ctx: Ctx, path: string): string | Fail {
    if (typeof v !== 'string' || v.length < this.minLength || v.length > this.maxLength) {
      return this.fail(ctx, path, v);
    }
    return v;
  }
}

export class NumberSchema extends Schema<number> {
  readonly expected: string;
  constructor(
    private readonly integer: boolean,
    private readonly min: number,
    private readonly max: number,
  ) {
    super();
    const range = `${min === -Infinity ? '' : min}..${max === Infinity ? '' : max}`;
    this.expected = `${integer ? 'integer' : 'number'}${range === '..' ? '' : `(${range})`}`;
  }
  check(v: unknown, ctx: Ctx, path: string): number | Fail {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < this.min || v > this.max) {
      return this.fail(ctx, path, v);
    }
    if (this.integer && !Number.isSafeInteger(v)) return this.fail(ctx, path, v);
    return v;
  }
}

export class BooleanSchema extends Schema<boolean> {
  readonly expected = 'boolean';
  check(v: unknown, ctx: Ctx, path: string): boolean | Fail {
    return typeof v === 'boolean' ? v : this.fail(ctx, path, v);
  }
}

export class BytesSchema extends Schema<Uint8Array> {
  readonly expected: string;
  constructor(private readonly maxBytes: number) {
    super();
    this.expected = `bytes(..${maxBytes})`;
  }
  check(v: unknown, ctx: Ctx, path: string): Uint8Array | Fail {
    return v instanceof Uint8Array && v.length <= this.maxBytes ? v : this.fail(ctx, path, v);
  }
}

export class EnumSchema<T extends string | number> extends Schema<T> {
  readonly expected: string;
  private readonly set: ReadonlySet<unknown>;
  constructor(values: readonly T[]) {
    super();
    this.set = new Set(values);
    this.expected = `one of ${values.map((x) => JSON.stringify(x)).join('|')}`;
  }
  check(v: unknown, ctx: Ctx, path: string): T | Fail {
    return this.set.has(v) ? (v as T) : this.fail(ctx, path, v);
  }
}

export class ArraySchema<T> extends Schema<T[]> {
  readonly expected: string;
  constructor(
    private readonly item: Schema<T>,
    private readonly maxItems: number,
  ) {
    super();
    this.expected = `array(..${maxItems}) of ${item.expected}`;
  }
  check(v: unknown, ctx: Ctx, path: string): T[] | Fail {
    if (!Array.isArray(v) || v.length > this.maxItems) return this.fail(ctx, path, v);
    const out: T[] = new Array<T>(v.length);
    for (let i = 0; i < v.length; i++) {
      const r = this.item.check(v[i], ctx, `${path}[${i}]`);
      if (r === FAIL) return FAIL;
      out[i] = r;
    }
    return out;
  }
}

export class OptionalSchema<T> extends Schema<T | undefined> {
  readonly expected: string;
  readonly optional = true;
  constructor(readonly inner: Schema<T>) {
    super();
    this.expected = `${inner.expected} (optional)`;
  }
  check(v: unknown, ctx: Ctx, path: string): T | undefined | Fail {
    // msgpack has no `undefined`; a peer may send nil for an absent optional field.
    if (v === undefined || v === null) return undefined;
    return this.inner.check(v, ctx, path);
  }
}

export class NullableSchema<T> extends Schema<T | null> {
  readonly expected: string;
  constructor(private readonly inner: Schema<T>) {
    super();
    this.expected = `${inner.expected} or null`;
  }
  check(v: unknown, ctx: Ctx, path: string): T | null | Fail {
    if (v === null || v === undefined) return null;
    return this.inner.check(v, ctx, path);
  }
}

export class UnknownSchema extends Schema<unknown> {
  readonly expected = 'any value';
  check(v: unknown): unknown {
    return v;
  }
}

export type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never;
}[keyof S];
export type InferShape<S extends Shape> = {
  -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>;
} & { -readonly [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> };
type Flatten<T> = { [K in keyof T]: T[K] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A rule across the fields of an object whose fields already passed their own checks: null when
 * it holds, else the issue (its `path` relative to the object, '' for the object itself).
 */
export type ObjectRule<T> = (value: T) => SchemaIssue | null;

export class ObjectSchema<S extends Shape> extends Schema<Flatten<InferShape<S>>> {
  readonly expected = 'object';
  private readonly keys: readonly string[];
  /** Stored without its field types so that every ObjectSchema<S> stays an ObjectSchema<Shape>. */
  private readonly rule: ((value: object) => SchemaIssue | null) | undefined;
  constructor(
    readonly shape: S,
    rule?: ObjectRule<Flatten<InferShape<S>>>,
  ) {
    super();
    this.keys = Object.keys(shape);
    this.rule = rule as ((value: object) => SchemaIssue | null) | undefined;
  }
  check(v: unknown, ctx: Ctx, path: string): Flatten<InferShape<S>> | Fail {
    if (!isPlainObject(v)) return this.fail(ctx, path, v);
    const out: Record<string, unknown> = {};
    for (const key of this.keys) {
      const field = this.shape[key]!;
      const raw = Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
      const r = field.check(raw, ctx, path === '' ? key : `${path}.${key}`);
      if (r === FAIL) return FAIL;
      if (r !== undefined) out[key] = r;
    }
    const value = out as Flatten<InferShape<S>>;
    const broken = this.rule?.(value) ?? null;
    if (broken !== null) {
      const at = broken.path === '' ? path : path === '' ? broken.path : `${path}.${broken.path}`;
      ctx.issue ??= { ...broken, path: at };
      return FAIL;
    }
    return value;
  }
}

export class RecordSchema<T> extends Schema<Record<string, T>> {
  readonly expected: string;
  constructor(
    private readonly value: Schema<T>,
    private readonly maxKeys: number,
  ) {
    super();
    this.expected = `record(..${maxKeys}) of ${value.expected}`;
  }
  check(v: unknown, ctx: Ctx, path: string): Record<string, T> | Fail {
    if (!isPlainObject(v)) return this.fail(ctx, path, v);
    const keys = Object.keys(v);
    if (keys.length > this.maxKeys) return this.fail(ctx, path, v);
    const out: Record<string, T> = {};
    for (const key of keys) {
      if (key === '__proto__') continue; // never let a peer's key reach an object's prototype
      const r = this.value.check(v[key], ctx, `${path}.${key}`);
      if (r === FAIL) return FAIL;
      out[key] = r;
    }
    return out;
  }
}

interface StringOpts {
  minLength?: number;
  maxLength?: number;
}
interface NumberOpts {
  min?: number;
  max?: number;
}

/** Schema builders. */
export const s = {
  string: (o: StringOpts = {}): Schema<string> =>
    new StringSchema(o.minLength ?? 0, o.maxLength ?? DEFAULT_MAX_STRING_LENGTH),
  number: (o: NumberOpts = {}): Schema<number> =>
    new NumberSchema(false, o.min ?? -Infinity, o.max ?? Infinity),
  int: (o: NumberOpts = {}): Schema<number> =>
    new NumberSchema(true, o.min ?? Number.MIN_SAFE_INTEGER, o.max ?? Number.MAX_SAFE_INTEGER),
  /** Non-negative safe integer (ids, counters, terms, indexes). */
  uint: (o: NumberOpts = {}): Schema<number> =>
    new NumberSchema(true, o.min ?? 0, o.max ?? Number.MAX_SAFE_INTEGER),
  boolean: (): Schema<boolean> => new BooleanSchema(),
  bytes: (o: { maxBytes?: number } = {}): Schema<Uint8Array> =>
    new BytesSchema(o.maxBytes ?? Number.MAX_SAFE_INTEGER),
  enum: <const T extends string | number>(...values: T[]): Schema<T> => new EnumSchema(values),
  array: <T>(item: Schema<T>, o: { maxItems?: number } = {}): Schema<T[]> =>
    new ArraySchema(item, o.maxItems ?? DEFAULT_MAX_ITEMS),
  object: <S extends Shape>(shape: S, rule?: ObjectRule<Flatten<InferShape<S>>>): ObjectSchema<S> =>
    new ObjectSchema(shape, rule),
  record: <T>(value: Schema<T>, o: { maxKeys?: number } = {}): Schema<Record<string, T>> =>
    new RecordSchema(value, o.maxKeys ?? DEFAULT_MAX_RECORD_KEYS),
  optional: <T>(inner: Schema<T>): OptionalSchema<T> => new OptionalSchema(inner),
  nullable: <T>(inner: Schema<T>): Schema<T | null> => new NullableSchema(inner),
  unknown: (): Schema<unknown> => new UnknownSchema(),
};

export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  switch (typeof v) {
    case 'string':
      return `string(${v.length})`;
    case 'number':
      return `number ${v}`;
    case 'boolean':
      return `boolean ${v}`;
    case 'bigint':
      return 'bigint';
    case 'object': {
      const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)
        ?.constructor?.name;
      return name === undefined || name === 'Object' ? 'object' : name;
    }
    default:
      return typeof v;
  }
}
