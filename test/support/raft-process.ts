// Test and bench support: a Raft node process (src/nodes/consensus/main.ts) driven over its
// JSON-lines control channel — commands on stdin, one JSON object per stdout line — and a free
// loopback port for it. Used by the process test and by bench/raft.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The compiled process entry point. */
export const RAFT_MAIN = join(ROOT, 'dist', 'src', 'nodes', 'consensus', 'main.js');
/** Default bound on a wait for one matching line. */
export const WAIT_MS = 15_000;
/** Stdout objects kept for `next(…, past = true)`; older ones are dropped. */
const MAX_KEPT_LINES = 1_000;

export type Json = Record<string, unknown>;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One raft process and its JSON-lines control channel. */
export class RaftProcess {
  child: ChildProcess | null = null;
  lines: Json[] = [];
  stderr = '';
  private waiters: { pred: (j: Json) => boolean; resolve: (j: Json) => void }[] = [];

  constructor(
    readonly id: string,
    readonly args: string[],
  ) {}

  start(): void {
    this.lines = [];
    this.waiters = [];
    const child = spawn(process.execPath, [RAFT_MAIN, ...this.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let j: Json;
        try {
          j = JSON.parse(line) as Json;
        } catch (error) {
          this.stderr += `unparsable stdout line (${String(error)}): ${line}\n`;
          continue;
        }
        this.lines.push(j);
        if (this.lines.length > MAX_KEPT_LINES) this.lines.shift();
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(j)) return true;
          w.resolve(j);
          return false;
        });
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
  }

  send(cmd: Json): void {
    this.child?.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The next stdout object matching `pred` (also one already received when `past`). */
  next(pred: (j: Json) => boolean, timeoutMs = WAIT_MS, past = false): Promise<Json> {
    if (past) {
      const found = this.lines.find(pred);
      if (found) return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.id}: no matching output within ${timeoutMs} ms\n${this.stderr.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        pred,
        resolve: (j) => {
          clearTimeout(timer);
          resolve(j);
        },
      });
    });
  }

  async status(): Promise<Json> {
    const p = this.next((j) => j.event === 'status', 5_000);
    this.send({ op: 'status' });
    return p;
  }

  kill9(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** Polls `fn` every 100 ms until it returns non-null; throws naming `what` after `timeoutMs`. */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | null>,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== null) return v;
    } catch (error) {
      last = error instanceof Error ? error.message : JSON.stringify(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last !== '' ? `: ${last}` : ''}`);
}

/** The one leader all live processes agree on (same term), or null. */
export async function agreedLeader(
  live: RaftProcess[],
): Promise<{ id: string; term: number } | null> {
  const sts = await Promise.all(live.map((p) => p.status()));
  const leaders = sts.filter((s) => s.role === 'leader');
  if (leaders.length !== 1) return null;
  const l = leaders[0]!;
  if (!sts.every((s) => s.leader === l.id && s.term === l.term)) return null;
  return { id: String(l.id), term: Number(l.term) };
}

/** Proposes key=value through `p` and resolves with its result line. */
export async function put(
  p: RaftProcess,
  client: string,
  seq: number,
  key: string,
  value: string,
): Promise<Json> {
  const r = p.next((j) => j.event === 'result' && j.client === client && j.seq === seq);
  p.send({ op: 'put', client, seq, key, value });
  return r;
}

export async function dump(p: RaftProcess): Promise<Json> {
  const r = p.next((j) => j.event === 'dump', 5_000);
  p.send({ op: 'dump' });
  return r;
}

/** The node's own measurements: RSS, event-loop delay, buffered bytes, counters. */
export async function metrics(p: RaftProcess, reset = false): Promise<Json> {
  const r = p.next((j) => j.event === 'metrics', 5_000);
  p.send({ op: 'metrics', reset });
  return r;
}
