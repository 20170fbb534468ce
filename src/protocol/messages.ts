// Owns the message envelope `{ t, id?, re?, ...fields }`, message definitions, the registry other
// modules (membership, consensus, nodes) add their types to, and the core types every node
// speaks (hello, error, ping, pong). Bytes in → a validated message or an ErrorMessage; never throws
// on input and never does I/O.

import { decodeValue, encodeValue } from './codec.js';
import { errorMessage, type ErrorMessage } from './errors.js';
import {
  s,
  validate,
  type Infer,
  type InferShape,
  type ObjectRule,
  type ObjectSchema,
  type Shape,
} from './schema.js';
import { InternalError } from '../errors.js';

/** Longest message type name (`t`). */
export const MAX_TYPE_NAME_LENGTH = 64;
/** Request ids are uint32; 0 is never used. */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** Every message on the wire. `id`: request id (the sender wants a reply); `re`: the request
 * this message replies to. A message with neither is a notification. */
export interface Envelope {
  readonly t: string;
  readonly id?: number;
  readonly re?: number;
}

/** A decoded, validated message whose fields are not statically known here. */
export type AnyMessage = Envelope & Readonly<Record<string, unknown>>;

export interface MessageDef<T extends string = string, S extends Shape = Shape> {
  readonly type: T;
  readonly schema: ObjectSchema<S>;
}

type Flatten<T> = { [K in keyof T]: T[K] };
/** The message type a definition describes. */
export type MessageOf<D> =
  D extends MessageDef<infer T, infer S>
    ? Flatten<{ t: T; id?: number; re?: number } & InferShape<S>>
    : never;
/** A message of `D` as a caller builds it (id/re are set by the RPC layer). */
export type BodyOf<D> =
  D extends MessageDef<infer T, infer S> ? Flatten<{ t: T } & InferShape<S>> : never;

/** Defines a message type: its `t` and the schema of its fields (envelope fields are implicit). */
export function defineMessage<const T extends string, S extends Shape>(
  type: T,
  shape: S,
  /** A rule across fields (checked after each field's own schema), e.g. ordering. */
  rule?: ObjectRule<Infer<ObjectSchema<S>>>,
): MessageDef<T, S> {
  if (type.length === 0 || type.length > MAX_TYPE_NAME_LENGTH) {
    throw new InternalError(
      `message type name must be 1..${MAX_TYPE_NAME_LENGTH} characters: ${JSON.stringify(type)}`,
    );
  }
  for (const reserved of ['t', 'id', 're']) {
    if (Object.prototype.hasOwnProperty.call(shape, reserved)) {
      throw new InternalError(`message ${type}: field "${reserved}" is reserved for the envelope`);
    }
  }
  return { type, schema: s.object(shape, rule) };
}

/** Whether `m` is a message of `def` (by type; the registry has already validated its fields). */
export function isMessage<D extends MessageDef>(
  def: D,
  m: AnyMessage,
): m is AnyMessage & MessageOf<D> {
  return m.t === def.type;
}

// ─── Core message types ─────────────────────────────────────────────────────────────────────

export const ROLES = ['client', 'gate', 'manager', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Bounds for hello fields. */
export const MAX_CAPABILITIES = 256;
export const MAX_CAPABILITY_LENGTH = 64;
export const MAX_NODE_ID_LENGTH = 128;
export const MAX_CLUSTER_ID_LENGTH = 128;
export const MAX_ENVIRONMENT_LENGTH = 64;
export const MAX_ERROR_TEXT_LENGTH = 4096;

export const HelloDef = defineMessage('hello', {
  protocol: s.object({ major: s.uint({ max: 0xffff }), minor: s.uint({ max: 0xffff }) }),
  capabilities: s.array(s.string({ minLength: 1, maxLength: MAX_CAPABILITY_LENGTH }), {
    maxItems: MAX_CAPABILITIES,
  }),
  clusterId: s.string({ minLength: 1, maxLength: MAX_CLUSTER_ID_LENGTH }),
  environment: s.string({ minLength: 1, maxLength: MAX_ENVIRONMENT_LENGTH }),
  role: s.enum(...ROLES),
  nodeId: s.string({ minLength: 1, maxLength: MAX_NODE_ID_LENGTH }),
  /** Added in 1.1; a certified peer's datacenter comes from its certificate. */
  datacenter: s.optional(s.string({ minLength: 1, maxLength: MAX_CLUSTER_ID_LENGTH })),
});
export type HelloMessage = MessageOf<typeof HelloDef>;

export const ErrorDef = defineMessage('error', {
  code: s.string({ minLength: 1, maxLength: MAX_TYPE_NAME_LENGTH }),
  message: s.string({ maxLength: MAX_ERROR_TEXT_LENGTH }),
  details: s.optional(s.record(s.unknown(), { maxKeys: 64 })),
});

/** Liveness / round-trip check every node answers. */
export const PingDef = defineMessage('ping', { sentMs: s.optional(s.number()) });
export const PongDef = defineMessage('pong', {
  sentMs: s.optional(s.number()),
  nodeId: s.string({ maxLength: MAX_NODE_ID_LENGTH }),
});

export const CORE_MESSAGES: readonly MessageDef[] = [HelloDef, ErrorDef, PingDef, PongDef];

// ─── Registry ───────────────────────────────────────────────────────────────────────────────

export type DecodeOutcome =
  | { readonly ok: true; readonly message: AnyMessage }
  /** `error.re` is set when the bad message carried a readable request id (so it can be answered). */
  | { readonly ok: false; readonly error: ErrorMessage };

export type EncodeOutcome =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: ErrorMessage };

const envelopeId = s.optional(s.uint({ min: 1, max: MAX_REQUEST_ID }));
const typeName = s.string({ minLength: 1, maxLength: MAX_TYPE_NAME_LENGTH });

/**
 * Message types this node understands. One per node (or per protocol endpoint); modules add
 * their definitions at startup with `register`. Registering the same definition twice is a
 * no-op; a different definition for a taken type name throws (a wiring bug, found at startup).
 */
export class MessageRegistry {
  private readonly defs = new Map<string, MessageDef>();

  constructor(defs: readonly MessageDef[] = CORE_MESSAGES) {
    this.register(...defs);
  }

  register(...defs: MessageDef[]): this {
    for (const def of defs) {
      const existing = this.defs.get(def.type);
      if (existing !== undefined && existing !== def) {
        throw new InternalError(
          `message type "${def.type}" is already registered with a different schema`,
        );
      }
      this.defs.set(def.type, def);
    }
    return this;
  }

  has(type: string): boolean {
    return this.defs.has(type);
  }

  types(): string[] {
    return [...this.defs.keys()].sort();
  }

  /** Bytes (one frame body) → a validated message, or the error to answer with. */
  decode(bytes: Uint8Array): DecodeOutcome {
    const raw = decodeValue(bytes);
    if (!raw.ok) {
      return {
        ok: false,
        error: errorMessage('malformed', `undecodable MessagePack body: ${raw.error}`, {
          sizeBytes: bytes.length,
        }),
      };
    }
    return this.check(raw.value);
  }

  /** A decoded value → a validated message (strips unknown fields), or the error to answer with. */
  check(value: unknown): DecodeOutcome {
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      value instanceof Uint8Array
    ) {
      return {
        ok: false,
        error: errorMessage('malformed', 'message must be a map with a string "t"'),
      };
    }
    const obj = value as Record<string, unknown>;
    // Read the request id first so even a bad message can be answered by id.
    const idResult = validate(envelopeId, obj.id, 'id');
    const id = idResult.ok ? idResult.value : undefined;
    const t = validate(typeName, obj.t, 't');
    if (!t.ok) {
      return {
        ok: false,
        error: errorMessage(
          'malformed',
          `message "t" must be a type name (${t.issue.actual})`,
          { field: 't' },
          id,
        ),
      };
    }
    const type = t.value;
    if (!idResult.ok) {
      return {
        ok: false,
        error: schemaError(
          type,
          idResult.issue.path,
          idResult.issue.expected,
          idResult.issue.actual,
        ),
      };
    }
    const re = validate(envelopeId, obj.re, 're');
    if (!re.ok)
      return { ok: false, error: schemaError(type, 're', re.issue.expected, re.issue.actual, id) };
    const def = this.defs.get(type);
    if (def === undefined) {
      return {
        ok: false,
        error: errorMessage('unknown_type', `unknown message type "${type}"`, { type }, id),
      };
    }
    const fields = validate(def.schema, obj);
    if (!fields.ok) {
      return {
        ok: false,
        error: schemaError(type, fields.issue.path, fields.issue.expected, fields.issue.actual, id),
      };
    }
    const message = fields.value as Record<string, unknown>;
    message.t = type;
    if (id !== undefined) message.id = id;
    if (re.value !== undefined) message.re = re.value;
    return { ok: true, message: message as AnyMessage };
  }

  /** A message → bytes, after checking it against its own schema (catches local bugs early). */
  encode(message: AnyMessage, options: { validate?: boolean } = {}): EncodeOutcome {
    if (options.validate !== false) {
      const checked = this.check(message);
      if (!checked.ok) {
        const e = checked.error;
        return {
          ok: false,
          error: { ...e, message: `refusing to send an invalid message: ${e.message}` },
        };
      }
    }
    try {
      return { ok: true, bytes: encodeValue(message) };
    } catch (err) {
      return {
        ok: false,
        error: errorMessage(
          'malformed',
          `cannot encode "${message.t}": ${err instanceof Error ? err.message : String(err)}`,
          { type: message.t },
        ),
      };
    }
  }
}

function schemaError(
  type: string,
  field: string,
  expected: string,
  actual: string,
  re?: number,
): ErrorMessage {
  return errorMessage(
    'schema',
    `message "${type}": field "${field}" must be ${expected}, got ${actual}`,
    { type, field, expected, actual },
    re,
  );
}
