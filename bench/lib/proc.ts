// Child processes of the bench: every one runs in its own process group, is tracked until it
// exits and is killed (the whole group) on timeout or when the bench stops; `measured` runs a
// generator under a resource wrapper so CPU user+sys and peak RSS include its children/threads.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How a generator's CPU time and peak RSS were measured. */
export type UsageMethod = 'gnu-time' | 'python-rusage' | 'proc-poll';

export interface Usage {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKb: number;
  method: UsageMethod;
  /**
   * CPU seconds that other processes took on the generator's core while it ran: user and
   * system time of that core minus the generator's own CPU time.
   * Near 0 on a quiet machine; null when not pinned or /proc/stat is unavailable.
   */
  coreOtherS?: number | null;
  /** Interrupt, softirq and steal seconds on the generator's core while it ran (part ours). */
  coreIrqS?: number | null;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const live = new Set<ChildProcess>();
const KILL_GRACE_MS = 2000;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    void error; // the group is already gone; fall back to the process itself
    child.kill(signal);
  }
}

/** Kills every child still running (SIGTERM, then SIGKILL); used on exit and on Ctrl-C. */
export function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of live) killGroup(child, signal);
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Pin to this CPU with taskset (when taskset exists). */
  cpu?: number | undefined;
  /** Also copy the child's output to ours as it arrives (prefixing every line). */
  echo?: string;
}

let tasksetPath: string | null | undefined;
export function taskset(): string | null {
  if (tasksetPath === undefined) tasksetPath = which('taskset');
  return tasksetPath;
}

/** Absolute path of a command on PATH (or the sbin folders), or null. */
export function which(command: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, command);
    if (existsSync(path)) return path;
  }
  return null;
}

function pinned(cmd: string, args: string[], cpu: number | undefined): [string, string[]] {
  const ts = cpu === undefined ? null : taskset();
  return ts === null ? [cmd, args] : [ts, ['-c', String(cpu), cmd, ...args]];
}

/** Starts a long-running child (a target) in its own group; the caller stops it with `stop`. */
export function startChild(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const [file, argv] = pinned(cmd, args, options.cpu);
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  child.on('error', () => live.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the child has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Runs a command to completion, killing its whole group after `timeoutMs`. */
export async function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  options: SpawnOptions = {},
): Promise<Finished> {
  const child = startChild(cmd, args, options);
  let stdout = '';
  let stderr = '';
  const echo = (d: string): void => {
    if (options.echo === undefined) return;
    for (const line of d.split('\n')) if (line.trim() !== '') console.log(`${options.echo}${line}`);
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    echo(d);
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    echo(d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('error', (error) => {
      stderr += `${error.message}\n`;
      resolve([null, null]);
    });
    child.on('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  return { code, signal, stdout, stderr, timedOut };
}

const PY_RUSAGE =
  'import resource,subprocess,sys,time\n' +
  't=time.time()\n' +
  'r=subprocess.run(sys.argv[2:])\n' +
  'e=time.time()-t\n' +
  'u=resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
  "open(sys.argv[1],'w').write('%f %f %f %d\\n'%(e,u.ru_utime,u.ru_stime,u.ru_maxrss))\n" +
  'sys.exit(r.returncode if r.returncode>=0 else 128-r.returncode)\n';

let chosen: { method: UsageMethod; path: string | null } | undefined;

/** Which resource wrapper this machine has: GNU time, else python3, else /proc polling. */
export function usageMethod(): { method: UsageMethod; path: string | null } {
  if (chosen) return chosen;
  // SALVO_BENCH_USAGE=python-rusage|proc-poll forces a fallback (to check it works).
  const forced = process.env['SALVO_BENCH_USAGE'];
  if (forced === 'proc-poll') return (chosen = { method: 'proc-poll', path: null });
  const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  if (time !== null && forced !== 'python-rusage') {
    const probe = spawnSync(time, ['-f', '%U', 'true'], { encoding: 'utf8', timeout: 5000 });
    if (probe.status === 0 && /^\d/.test(probe.stderr.trim())) {
      return (chosen = { method: 'gnu-time', path: time });
    }
  }
  const python = which('python3');
  if (python !== null) {
    const probe = spawnSync(python, ['-c', 'import resource'], { timeout: 5000 });
    if (probe.status === 0) return (chosen = { method: 'python-rusage', path: python });
  }
  return (chosen = { method: 'proc-poll', path: null });
}

const CLK_TCK = 100;
const POLL_MS = 100;

function procSample(pid: number): { userS: number; sysS: number; rssKb: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime/stime are fields 14/15 of the whole line.
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return {
      userS: Number(fields[11]) / CLK_TCK,
      sysS: Number(fields[12]) / CLK_TCK,
      rssKb: hwm ? Number(hwm[1]) : 0,
    };
  } catch (error) {
    void error; // the process exited between two polls; the last sample stands
    return null;
  }
}

export interface MeasuredResult extends Finished {
  usage: Usage | null;
}

/**
 * Runs a generator pinned to `cpu` under the resource wrapper; `usageFile` is a scratch path.
 * The usage covers the generator and every child it waited for (threads included).
 */
export async function measured(
  cmd: string,
  args: string[],
  timeoutMs: number,
  usageFile: string,
  options: SpawnOptions = {},
): Promise<MeasuredResult> {
  const before = options.cpu === undefined ? null : coreBusyS(options.cpu);
  const done = await measuredProcess(cmd, args, timeoutMs, usageFile, options);
  const after = options.cpu === undefined ? null : coreBusyS(options.cpu);
  if (done.usage) {
    const own = done.usage.userS + done.usage.sysS;
    const round = (v: number): number => Math.max(0, Math.round(v * 100) / 100);
    done.usage.coreOtherS =
      before === null || after === null ? null : round(after.task - before.task - own);
    done.usage.coreIrqS = before === null || after === null ? null : round(after.irq - before.irq);
  }
  return done;
}

/** Seconds one CPU spent since boot on tasks (user, nice, system) and on irq/softirq/steal. */
function coreBusyS(cpu: number): { task: number; irq: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    if (line === undefined) return null;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const sum = (idx: number[]): number => idx.reduce((t, i) => t + (f[i] ?? 0), 0) / CLK_TCK;
    return { task: sum([0, 1, 2]), irq: sum([5, 6, 7]) };
  } catch (error) {
    void error; // no /proc/stat: contention is not reported
    return null;
  }
}

async function measuredProcess(
  cmd: string,
  args: string[],
  timeoutMs: number,
  usageFile: string,
  options: SpawnOptions = {},
): Promise<MeasuredResult> {
  const how = usageMethod();
  if (how.method === 'gnu-time' && how.path !== null) {
    const done = await run(
      how.path,
      ['-o', usageFile, '-f', '%e %U %S %M', cmd, ...args],
      timeoutMs,
      options,
    );
    return { ...done, usage: readUsage(usageFile, 'gnu-time') };
  }
  if (how.method === 'python-rusage' && how.path !== null) {
    const done = await run(
      how.path,
      ['-c', PY_RUSAGE, usageFile, cmd, ...args],
      timeoutMs,
      options,
    );
    return { ...done, usage: readUsage(usageFile, 'python-rusage') };
  }
  let peak = 0;
  let user = 0;
  let sys = 0;
  const started = performance.now();
  let pid: number | undefined;
  const poll = setInterval(() => {
    if (pid === undefined) pid = findChildPid(cmd);
    if (pid === undefined) return;
    const s = procSample(pid);
    if (s) {
      peak = Math.max(peak, s.rssKb);
      user = s.userS;
      sys = s.sysS;
    }
  }, POLL_MS);
  const done = await run(cmd, args, timeoutMs, options);
  clearInterval(poll);
  const wallS = (performance.now() - started) / 1000;
  return { ...done, usage: { wallS, userS: user, sysS: sys, maxRssKb: peak, method: 'proc-poll' } };
}

/** The newest live child started with `cmd` (for /proc polling when no wrapper exists). */
function findChildPid(cmd: string): number | undefined {
  let found: number | undefined;
  for (const child of live) {
    if (child.pid !== undefined && child.spawnargs.includes(cmd)) found = child.pid;
  }
  return found;
}

function readUsage(file: string, method: UsageMethod): Usage | null {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8').trim();
  // GNU time prefixes "Command exited with non-zero status N" on its own line.
  const last = text.split('\n').pop() ?? '';
  const [wall, user, sys, rss] = last.trim().split(/\s+/).map(Number);
  if ([wall, user, sys, rss].some((v) => v === undefined || !Number.isFinite(v))) return null;
  return { wallS: wall ?? 0, userS: user ?? 0, sysS: sys ?? 0, maxRssKb: rss ?? 0, method };
}
