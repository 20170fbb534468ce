// Owns following one cluster job to its end from the client: the live view fed by the owner
// gate's snapshots, keepalives, and what a watch does when its gate goes away — it reconnects to
// any of the --gate addresses (sent on to the job's owner), asks again, and goes on from the
// status the gate replays, for up to WATCH_RECONNECT_MS; a gate that goes quiet is asked again.

import { OptionError, SalvoError, describeError } from '../errors.js';
import type { JobResult, JobSnapshot } from '../nodes/jobs/client-wire.js';
import type { LiveSnapshot } from '../ui/snapshot.js';
import { createProgressView } from '../ui/terminal.js';
import type { JobDashboard } from './job-dashboard.js';
import type { JobClient } from './job-client.js';
import type { CliIo } from './main.js';

/** Longest a watch waits without any snapshot before it asks the gate again. */
export const WATCH_SILENCE_MS = 30_000;
/**
 * A watch only receives; the gate closes an inbound link that sends nothing for its idle timeout
 * (60 s), so the watch sends a `ping` (answered by every node) this often.
 */
export const WATCH_KEEPALIVE_MS = 15_000;
/**
 * How long a watch keeps trying to reach a gate after it lost one (each of --gate in turn, the
 * wait between rounds growing from 0.5 s to 5 s); SALVO_WATCH_RECONNECT_MS overrides it.
 */
export const WATCH_RECONNECT_MS = 300_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

export interface FollowFlags {
  quiet?: boolean;
  color?: boolean;
}

/** A job a command follows: the link to its owner, and how to show it. */
export interface Watched<F extends FollowFlags = FollowFlags> {
  readonly client: JobClient;
  readonly job: string;
  readonly token: string | undefined;
  /** The workflow file (or the job id) the live view names. */
  readonly file: string;
  readonly io: CliIo;
  readonly flags: F;
}

/** The watch lost its gate (closed link) or heard nothing for too long: worth asking again. */
class GateLost extends SalvoError {
  constructor(
    message: string,
    readonly closed: boolean,
  ) {
    super('E_PROTOCOL', message);
  }
}

export function dcLine(dcs: Record<string, string>): string {
  return Object.entries(dcs)
    .map(([dc, state]) => `${dc} ${state}`)
    .join(', ');
}

function liveSnapshotOf(snapshot: JobSnapshot, file: string): LiveSnapshot {
  const stats = snapshot.stats as Partial<LiveSnapshot> | null;
  if (stats !== null && typeof stats === 'object' && Array.isArray(stats.workflows)) {
    return { ...(stats as LiveSnapshot), phase: `${snapshot.status} (${dcLine(snapshot.dcs)})` };
  }
  return {
    file,
    workers: 0,
    elapsedMs: snapshot.elapsedMs,
    plannedMs: null,
    phase: `${snapshot.status} (${dcLine(snapshot.dcs)})`,
    workflows: [],
  };
}

function reconnectBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['SALVO_WATCH_RECONNECT_MS'];
  if (raw === undefined || raw.trim() === '') return WATCH_RECONNECT_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new OptionError(
      `SALVO_WATCH_RECONNECT_MS: a whole number of milliseconds ≥ 0 (got ${JSON.stringify(raw)})`,
    );
  }
  return n;
}

/** Follows a job to its end with the live view; returns its result. */
export async function followJob(watched: Watched, dashboard?: JobDashboard): Promise<JobResult> {
  const { client, job, io, flags } = watched;
  const view = createProgressView({
    stream: io.stderr,
    quiet: flags.quiet === true,
    color: flags.color !== false && !process.env['NO_COLOR'],
  });
  const follower = new Follower(watched, dashboard);
  const budgetMs = reconnectBudgetMs();
  view.start(() => follower.latest);
  try {
    for (;;) {
      try {
        const r = await follower.watchOnce();
        view.stop(follower.latest);
        return r;
      } catch (error) {
        if (!(error instanceof GateLost)) throw error;
        io.stderr.write(`salvo: ${error.message}; asking the gates again\n`);
        // A quiet gate that is still connected is asked again at once.
        if (error.closed) await reconnect(client, io, Date.now() + budgetMs, error.message);
        io.stderr.write(`salvo: following ${job} through gate ${client.gateAddress}\n`);
      }
    }
  } catch (error) {
    view.stop();
    throw error;
  }
}

/** Reconnects to any --gate, waiting longer between rounds, until `untilMs`. */
async function reconnect(
  client: JobClient,
  io: CliIo,
  untilMs: number,
  why: string,
): Promise<void> {
  let waitMs = FIRST_RETRY_MS;
  for (;;) {
    try {
      await client.reconnect();
      return;
    } catch (error) {
      if (Date.now() + waitMs > untilMs) {
        throw new SalvoError(
          'E_UNREACHABLE',
          `${why}; no gate answered again before the watch gave up (SALVO_WATCH_RECONNECT_MS): ${describeError(error)}; \`salvo watch JOB\` picks it up again`,
        );
      }
      io.stderr.write(
        `salvo: no gate yet (${describeError(error)}); again in ${waitMs / 1000} s\n`,
      );
      await new Promise((r) => setTimeout(r, waitMs));
      waitMs = Math.min(MAX_RETRY_MS, waitMs * 2);
    }
  }
}

type Connection = JobClient['connection'];

/** The watch's state across connections: the newest view, and the attempt in progress. */
class Follower {
  latest: LiveSnapshot;
  /** Snapshots number from 1 per owner (a restarted or new owner starts again). */
  private lastSeq = 0;
  private lastHeard = Date.now();
  private attempt: { resolve: (r: JobResult) => void; reject: (e: Error) => void } | null = null;
  /** Connections whose handlers are in place (each hooked once, however often asked again). */
  private readonly hooked = new WeakSet<Connection>();

  constructor(
    private readonly w: Watched,
    private readonly dashboard?: JobDashboard,
  ) {
    this.latest = {
      file: w.file,
      workers: 0,
      elapsedMs: 0,
      plannedMs: null,
      phase: 'waiting for the gate',
      workflows: [],
    };
  }

  private onSnapshot(s: JobSnapshot): void {
    if (s.job !== this.w.job || s.seq <= this.lastSeq) return; // replayed or reordered
    this.lastSeq = s.seq;
    this.lastHeard = Date.now();
    this.latest = liveSnapshotOf(s, this.w.file);
    this.dashboard?.feed(s.windows);
  }

  private hook(connection: Connection): void {
    if (this.hooked.has(connection)) return;
    this.hooked.add(connection);
    const gate = this.w.client.gateAddress;
    connection.handle('job.snapshot', (m) => this.onSnapshot(m as unknown as JobSnapshot));
    connection.handle('job.result', (m) => {
      const r = m as unknown as JobResult;
      if (r.job === this.w.job) this.attempt?.resolve(r);
    });
    connection.onClose((reason) => {
      if (connection !== this.w.client.connection) return; // an old link the client left
      this.attempt?.reject(
        new GateLost(
          `gate ${gate} closed the connection while watching ${this.w.job}${reason ? `: ${reason.message}` : ''}`,
          true,
        ),
      );
    });
  }

  /**
   * One watch on the client's current connection: resolves with the job's result, or rejects
   * with GateLost when the link closes or the gate goes quiet, or with the gate's refusal.
   */
  async watchOnce(): Promise<JobResult> {
    const { client, job, token } = this.w;
    this.lastSeq = 0;
    this.lastHeard = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<JobResult>((resolve, reject) => {
        this.attempt = { resolve, reject };
        this.hook(client.connection);
        let lastPing = Date.now();
        timer = setInterval(() => {
          const gate = client.gateAddress;
          if (Date.now() - lastPing >= WATCH_KEEPALIVE_MS) {
            lastPing = Date.now();
            client.connection.notify({ t: 'ping', sentMs: lastPing });
          }
          if (client.connection.isClosed) {
            reject(new GateLost(`gate ${gate} is gone while watching ${job}`, true));
          } else if (Date.now() - this.lastHeard > WATCH_SILENCE_MS) {
            reject(
              new GateLost(
                `no word from gate ${gate} about ${job} for ${WATCH_SILENCE_MS / 1000}s`,
                false,
              ),
            );
          }
        }, 1000);
        timer.unref();
        client
          .request({ t: 'job.watch', job, ...(token === undefined ? {} : { token }) }, [
            'job.snapshot',
            'job.result',
          ])
          .then((first) => {
            // Sent on to the owner: its link carries the snapshots from now on.
            this.hook(client.connection);
            // A job that has already ended answers its watch with its result.
            if (first.t === 'job.result') resolve(first as unknown as JobResult);
            else this.onSnapshot(first as unknown as JobSnapshot);
          })
          .catch((error: unknown) =>
            reject(
              client.connection.isClosed
                ? new GateLost(
                    `gate ${client.gateAddress} went away while asked about ${job}: ${describeError(error)}`,
                    true,
                  )
                : (error as Error),
            ),
          );
      });
    } finally {
      this.attempt = null;
      clearInterval(timer);
    }
  }
}
