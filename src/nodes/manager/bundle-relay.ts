// Owns how a manager hands workflow bundles to its workers: it remembers which owner gate
// dispatched each bundle hash, answers a worker's `bundle.get` from a small cache or by asking
// that gate once (concurrent asks share one fetch), and checks the bytes against the hash.
// Bounded: owners and cached bundles are kept by count and bytes, oldest forgotten first.

import { sha256Hex } from '../../cluster/jobs/submission-check.js';
import type { ErrorMessage, RequestContext } from '../../protocol/index.js';
import type { NodeAddress } from '../../runtime/types.js';
import { describeError } from '../../errors.js';
import { fail, roleProblem } from './context.js';
import type { PeerLinks } from '../jobs/peer-links.js';

/** Bundle hashes whose owner gate is remembered. */
export const MAX_BUNDLE_OWNERS = 1_000;
/** Bundles kept in memory at once, and their total size. */
export const MAX_CACHED_BUNDLES = 32;
export const MAX_CACHED_BUNDLE_BYTES = 64 * 1024 * 1024;
/** How long one fetch from a gate may take. */
export const BUNDLE_FETCH_TIMEOUT_MS = 10_000;

type BundleReply = { t: 'bundle.data'; hash: string; source: string } | ErrorMessage;

export class BundleRelay {
  private readonly owners = new Map<string, NodeAddress>();
  private readonly cache = new Map<string, string>();
  private cachedBytes = 0;
  private readonly fetching = new Map<string, Promise<BundleReply>>();
  fetched = 0;
  refused = 0;

  constructor(private readonly gates: PeerLinks) {}

  /** Records the gate that dispatched work using `hash` (the freshest owner wins). */
  noteOwner(hash: string, owner: NodeAddress | undefined): void {
    if (owner === undefined) return;
    this.owners.delete(hash);
    this.owners.set(hash, owner);
    if (this.owners.size > MAX_BUNDLE_OWNERS) {
      const oldest = this.owners.keys().next();
      if (!oldest.done) this.owners.delete(oldest.value);
    }
  }

  get cachedCount(): number {
    return this.cache.size;
  }

  /** A worker asks for a bundle it has not cached. */
  async onGet(m: { hash: string }, rc: RequestContext): Promise<BundleReply> {
    const denied = roleProblem(rc, ['worker', 'manager'], 'bundle.get');
    if (denied) return denied;
    const cached = this.cache.get(m.hash);
    if (cached !== undefined) return { t: 'bundle.data', hash: m.hash, source: cached };
    const owner = this.owners.get(m.hash);
    if (owner === undefined) {
      this.refused++;
      return fail('E_BUNDLE_UNKNOWN', `no job dispatched here uses bundle ${m.hash.slice(0, 12)}…`);
    }
    let pending = this.fetching.get(m.hash);
    if (pending === undefined) {
      pending = this.fetch(m.hash, owner).finally(() => this.fetching.delete(m.hash));
      this.fetching.set(m.hash, pending);
    }
    return pending;
  }

  private async fetch(hash: string, owner: NodeAddress): Promise<BundleReply> {
    const where = `${owner.host}:${owner.port}`;
    try {
      const conn = await this.gates.get(owner);
      const reply = await conn.request(
        { t: 'bundle.get', hash },
        { timeoutMs: BUNDLE_FETCH_TIMEOUT_MS },
      );
      if (!reply.ok) return reply.error;
      const source = (reply.message as { source?: unknown }).source;
      if (reply.message.t !== 'bundle.data' || typeof source !== 'string') {
        return fail(
          'E_BUNDLE_UNKNOWN',
          `gate ${where} answered bundle.get with ${reply.message.t}`,
        );
      }
      if (sha256Hex(source) !== hash) {
        return fail(
          'E_BUNDLE_UNKNOWN',
          `gate ${where} sent a bundle that does not match ${hash.slice(0, 12)}…`,
        );
      }
      this.fetched++;
      this.keep(hash, source);
      return { t: 'bundle.data', hash, source };
    } catch (error) {
      return fail(
        'E_UNAVAILABLE',
        `could not fetch bundle ${hash.slice(0, 12)}… from gate ${where}: ${describeError(error)}`,
        {
          retryAfterMs: 1_000,
        },
      );
    }
  }

  private keep(hash: string, source: string): void {
    const bytes = Buffer.byteLength(source);
    if (bytes > MAX_CACHED_BUNDLE_BYTES || this.cache.has(hash)) return;
    this.cache.set(hash, source);
    this.cachedBytes += bytes;
    while (this.cache.size > MAX_CACHED_BUNDLES || this.cachedBytes > MAX_CACHED_BUNDLE_BYTES) {
      const oldest = this.cache.entries().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value[0]);
      this.cachedBytes -= Buffer.byteLength(oldest.value[1]);
    }
  }
}
