// Owns what `salvo worker` runs its dispatched work on: this machine's thread pool (one thread
// per offered core) and the bundles it needs, found in the local cache by content hash or fetched
// from its managers (`bundle.get`), checked against the hash, and written where threads import
// them with the `salvo` import pointed at this installation.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cacheDir, type Bundle } from '../engine/loader.js';
import { describeError, SalvoError } from '../errors.js';
import { recordHandled } from '../handled-errors.js';
import { BundleDataDef, BundleGetDef } from '../nodes/jobs/dc-wire.js';
import { PeerLinks } from '../nodes/jobs/peer-links.js';
import type { BundleRef } from '../nodes/worker/executor.js';
import { JOB_CANCEL_GRACE_MS } from '../nodes/gate/job-program.js';
import { ThreadPool } from '../pool/pool.js';
import { ThreadExecutor } from '../pool/thread-executor.js';
import { MessageRegistry, type LocalIdentity } from '../protocol/index.js';
import type { NodeAddress, Runtime } from '../runtime/types.js';

/** How long one manager has to hand over a bundle. */
export const BUNDLE_GET_TIMEOUT_MS = 15_000;
/** A cancelled part's threads get this long past their grace before they are terminated. */
const FINALIZE_SLACK_MS = 1_500;

const LOCAL_API_URL = pathToFileURL(
  fileURLToPath(new URL('../api/index.js', import.meta.url)),
).href;
/** The `salvo` import of a bundle built on another machine: its absolute URL there. */
const API_IMPORT = /(["'])file:\/\/[^"'\n]*?\/src\/api\/index\.js\1/g;

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The bundle as this machine imports it: the `salvo` import points at this installation. */
export function localizeBundle(source: string): string {
  return source.replace(API_IMPORT, (_m, quote: string) => `${quote}${LOCAL_API_URL}${quote}`);
}

/** Writes a fetched bundle into the cache (atomically) and returns it as the pool takes it. */
export function storeBundle(dir: string, ref: BundleRef, source: string): Bundle {
  if (sha256(source) !== ref.hash) {
    throw new SalvoError(
      'E_PROTOCOL',
      `the bundle received for ${ref.file} does not match its hash ${ref.hash.slice(0, 12)}…`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${ref.hash}.mjs`);
  const text = localizeBundle(source);
  if (!existsSync(path) || sha256(readFileSync(path)) !== sha256(text)) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  }
  return { path, hash: sha256(text), source: ref.file, inputs: [] };
}

/** Starts the pool and the executor a worker node runs its parts on. */
export async function startWorkerExecutor(
  cores: number,
  managers: ReadonlyMap<string, NodeAddress>,
  runtime: Runtime,
  identity: LocalIdentity,
): Promise<ThreadExecutor & { close(): Promise<void> }> {
  const dir = join(cacheDir(), 'cluster-bundles');
  const links = new PeerLinks(runtime, {
    registry: new MessageRegistry().register(BundleGetDef, BundleDataDef),
    identity,
    handlers: new Map(),
  });
  const fetchFrom = async (ref: BundleRef): Promise<Bundle | null> => {
    const local = join(dir, `${ref.hash}.mjs`);
    const problems: string[] = [];
    if (existsSync(local)) {
      const text = readFileSync(local, 'utf8');
      return { path: local, hash: sha256(text), source: ref.file, inputs: [] };
    }
    for (const [id, address] of managers) {
      try {
        const conn = await links.get(address, id);
        const reply = await conn.request(
          { t: 'bundle.get', hash: ref.hash },
          { timeoutMs: BUNDLE_GET_TIMEOUT_MS },
        );
        if (!reply.ok) {
          problems.push(`${id}: ${reply.error.code}: ${reply.error.message}`);
          continue;
        }
        const source = (reply.message as { source?: unknown }).source;
        if (typeof source !== 'string') continue;
        return storeBundle(dir, ref, source);
      } catch (error) {
        problems.push(`${id}: ${describeError(error)}`);
      }
    }
    recordHandled('worker.bundle-fetch', new Error(problems.join('; ')));
    throw new SalvoError(
      'E_PROTOCOL',
      `bundle ${ref.hash.slice(0, 12)}… of ${ref.file} could not be fetched from any manager (${problems.join('; ')})`,
    );
  };
  // A cancelled part's in-flight iterations get the job's cancel grace; only past it (and the
  // slack) is a thread that has not finalized terminated, and its part failed.
  const pool = await ThreadPool.start({
    size: cores,
    finalizeSlackMs: JOB_CANCEL_GRACE_MS + FINALIZE_SLACK_MS,
  });
  const executor = new ThreadExecutor({ pool, bundles: fetchFrom });
  const close = executor.close.bind(executor);
  return Object.assign(executor, {
    close: async (): Promise<void> => {
      links.close();
      await close(); // shuts the pool down
    },
  });
}
