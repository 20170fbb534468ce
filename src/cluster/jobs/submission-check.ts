// Owns what a gate decides about a submission before anything is proposed to the ledger: who
// the client is (its certificate identity, or a token the gates are configured with), whether
// the bundle is within the size limit and is what its content address says, and the payload
// digest that defines "the same submission" for idempotency. Pure: no clock, no I/O.

import { createHash, timingSafeEqual } from 'node:crypto';
import { reject, type Rejection } from './errors.js';

/** What the link says about the peer (a protocol Session, reduced to what matters here). */
export interface PeerFacts {
  /** The identity came from a certificate the cluster CA signed. */
  readonly authenticated: boolean;
  readonly nodeId: string;
  readonly role: string;
}

export interface AuthConfig {
  /** Access tokens the gates accept, each naming the client it stands for. */
  readonly tokens: ReadonlyMap<string, string>;
  /**
   * Accept a client on a plain link without a token, by the name its hello declares (a cluster
   * started with --insecure and no tokens). Off by default.
   */
  readonly allowUnauthenticated: boolean;
}

export type AuthResult =
  { readonly ok: true; readonly client: string } | Rejection<'E_UNAUTHENTICATED'>;

function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * The client a request speaks for. A certificate wins (`cert:<id>`); else a configured token
 * (`token:<name>`); else, only when allowed, the declared name (`anon:<id>`). The prefixes keep
 * one kind of identity from posing as another (idempotency keys are scoped to the client).
 */
export function authenticate(
  peer: PeerFacts,
  token: string | undefined,
  cfg: AuthConfig,
): AuthResult {
  if (peer.authenticated && peer.role === 'client')
    return { ok: true, client: `cert:${peer.nodeId}` };
  if (token !== undefined) {
    let name: string | undefined;
    for (const [t, n] of cfg.tokens) if (sameSecret(t, token)) name = n;
    if (name !== undefined) return { ok: true, client: `token:${name}` };
    return reject('E_UNAUTHENTICATED', 'the access token is not one this gate accepts');
  }
  if (!peer.authenticated && cfg.allowUnauthenticated && peer.role === 'client') {
    return { ok: true, client: `anon:${peer.nodeId}` };
  }
  return reject(
    'E_UNAUTHENTICATED',
    'submit with a client certificate (`salvo certs create-client`) or an access token the gates are configured with',
  );
}

export interface BundleLimits {
  /** Largest bundle source a gate accepts, in UTF-8 bytes. */
  readonly maxBundleBytes: number;
}

/** Default: 8 MiB of bundled JavaScript (a frame is 16 MiB; the plan travels beside it). */
export const DEFAULT_MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

export interface BundleFacts {
  readonly hash: string;
  readonly sizeBytes: number;
}

export type BundleCheck =
  | { readonly ok: true; readonly sizeBytes: number }
  | Rejection<'E_BUNDLE_TOO_LARGE' | 'E_INVALID_SUBMISSION'>;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Checks the bundle's size against the limit and its content address against its source. */
export function checkBundle(
  bundle: BundleFacts,
  source: string,
  limits: BundleLimits,
): BundleCheck {
  const size = Buffer.byteLength(source, 'utf8');
  if (size > limits.maxBundleBytes || bundle.sizeBytes > limits.maxBundleBytes) {
    return reject(
      'E_BUNDLE_TOO_LARGE',
      `the bundle is ${Math.max(size, bundle.sizeBytes)} bytes; this gate accepts at most ${limits.maxBundleBytes}`,
    );
  }
  if (size !== bundle.sizeBytes) {
    return reject(
      'E_INVALID_SUBMISSION',
      `bundle.sizeBytes says ${bundle.sizeBytes}, the source is ${size} bytes`,
    );
  }
  const hash = sha256Hex(source);
  if (hash !== bundle.hash.toLowerCase()) {
    return reject(
      'E_INVALID_SUBMISSION',
      `bundle.hash does not match the source (its SHA-256 is ${hash})`,
    );
  }
  return { ok: true, sizeBytes: size };
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort())
      out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** What makes two submissions "the same payload". */
export interface PayloadFacts {
  readonly bundleHash: string;
  readonly plan: unknown;
  /** Datacenters as the client named them (null: the gate picks). */
  readonly dcs: readonly string[] | null;
  readonly dcCount: number | null;
  /** The job's reporter configs, when it carries some. */
  readonly reports?: unknown;
}

/** SHA-256 of the canonical payload: same bundle, plan and targets ⇒ same digest, on every gate. */
export function payloadDigest(p: PayloadFacts): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        v: 1,
        bundle: p.bundleHash.toLowerCase(),
        plan: p.plan ?? null,
        dcs: p.dcs,
        dcCount: p.dcCount,
        // Only when present, so a submission without reporters keeps its digest.
        ...(p.reports !== undefined ? { reports: p.reports } : {}),
      }),
      'utf8',
    )
    .digest('hex');
}
