// The protocol rows of `npm run bench`: HTTP/2, Salvo's http2 client against h2load (Debian's
// nghttp2-client) on the same nghttpd target at 100 concurrent streams; WebSocket, Salvo's ws
// client against a plain `ws` client loop on the same echo target, in messages/s echoed. The
// target is pinned to one core and each generator to the other, A/B interleaved over rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSalvo, type Context } from './generators.js';
import { measured, startChild, stop, which, type Usage } from './proc.js';
import { fmt, goal, median, ratio, table, type Goal } from './report.js';

/** Concurrent streams in the HTTP/2 row: 100 h2c sessions of one stream each, for both tools. */
export const H2_STREAMS = 100;
/** WebSocket lanes (connections at a time) and messages per connection. */
export const WS_CONNECTIONS = 50;
export const WS_MESSAGES_PER_CONNECTION = 100;
const READY_TIMEOUT_MS = 10_000;
/** The file nghttpd serves. */
const BODY = 'ok';

export interface ProtocolSample {
  tool: string;
  /** req/s (HTTP/2) or messages/s (WebSocket). */
  perSecond: number;
  count: number;
  errors: number;
  cpuS: number | null;
  rssMiB: number | null;
}

export interface ProtocolFigures {
  h2: { streams: number; target: string; byTool: Record<string, ProtocolSample[]> } | null;
  ws: {
    connections: number;
    messagesPerConnection: number;
    byTool: Record<string, ProtocolSample[]>;
  } | null;
  skipped: string[];
  failures: string[];
  goals: Goal[];
  salvo_over_h2load_h2_100_streams: number | null;
  salvo_over_ws_loop_messages: number | null;
}

function cpu(u: Usage | null): number | null {
  return u ? Math.round((u.userS + u.sysS) * 100) / 100 : null;
}
function rss(u: Usage | null): number | null {
  return u ? Math.round((u.maxRssKb / 1024) * 10) / 10 : null;
}

async function waitForLine(
  child: ReturnType<typeof startChild>,
  pattern: RegExp,
  what: string,
): Promise<RegExpExecArray> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(child);
      reject(new Error(`${what} did not start within ${READY_TIMEOUT_MS} ms: ${out.trim()}`));
    }, READY_TIMEOUT_MS);
    const on = (d: string): void => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.setEncoding('utf8').on('data', on);
    child.stderr?.setEncoding('utf8').on('data', on);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out.trim()}`));
    });
  });
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** nghttpd (clear-text h2c) serving `index.html` from a scratch dir, pinned to `cpuIndex`. */
async function startNghttpd(dir: string, cpuIndex: number | undefined) {
  const nghttpd = which('nghttpd');
  if (nghttpd === null) throw new Error('nghttpd is not installed (scripts/setup-protocols.sh)');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), BODY);
  const port = await freePort();
  const child = startChild(nghttpd, ['--no-tls', '-a', '127.0.0.1', '-d', dir, String(port)], {
    cpu: cpuIndex,
  });
  // nghttpd prints nothing when ready: probe the port.
  const net = await import('node:net');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop(child);
      throw new Error(`nghttpd did not listen on ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, close: () => stop(child) };
}

async function runH2load(
  ctx: Context,
  url: string,
  durationS: number,
  n: number,
): Promise<ProtocolSample> {
  const h2load = which('h2load');
  if (h2load === null) throw new Error('h2load is not installed (scripts/setup-protocols.sh)');
  const done = await measured(
    h2load,
    ['-t', '1', '-c', String(n), '-m', '1', '-D', String(durationS), `${url}/index.html`],
    (durationS + 45) * 1000,
    join(ctx.scratch, `h2load-usage-${Date.now()}`),
    { cpu: ctx.cpu, env: ctx.env },
  );
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(done.stdout);
  const reqs =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
      done.stdout,
    );
  if (done.code !== 0 || !rate || !reqs) {
    throw new Error(
      `h2load exited with ${done.code}: ${(done.stdout + done.stderr).trim().split('\n').slice(-5).join('\n')}`,
    );
  }
  return {
    tool: 'h2load',
    perSecond: Number(rate[1]),
    count: Number(reqs[3]),
    errors: Number(reqs[4]) + Number(reqs[5]),
    cpuS: cpu(done.usage),
    rssMiB: rss(done.usage),
  };
}

async function runWsLoop(ctx: Context, url: string, durationS: number): Promise<ProtocolSample> {
  const script = join(ctx.root, 'dist', 'bench', 'targets', 'ws-loop.js');
  const done = await measured(
    process.execPath,
    [script, url, String(WS_CONNECTIONS), String(durationS), String(WS_MESSAGES_PER_CONNECTION)],
    (durationS + 45) * 1000,
    join(ctx.scratch, `ws-loop-usage-${Date.now()}`),
    { cpu: ctx.cpu, env: ctx.env },
  );
  const line = done.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (done.code !== 0 || line === undefined)
    throw new Error(`ws loop exited with ${done.code}: ${done.stderr.trim()}`);
  const j = JSON.parse(line) as { messages: number; seconds: number; errors: number };
  return {
    tool: 'ws loop',
    perSecond: j.seconds > 0 ? j.messages / j.seconds : 0,
    count: j.messages,
    errors: j.errors,
    cpuS: cpu(done.usage),
    rssMiB: rss(done.usage),
  };
}

export interface ProtocolPlan {
  ctx: Context;
  rounds: number;
  durationS: number;
  targetCpu: number | undefined;
  progress: (message: string) => void;
  /** Runs `fn` with one retry, recording a failure; null when it failed twice. */
  attempt: <T>(label: string, fn: () => Promise<T>) => Promise<T | null>;
}

function medianOf(samples: readonly ProtocolSample[] | undefined): number | null {
  return samples && samples.length > 0 ? median(samples.map((s) => s.perSecond)) : null;
}

/** Runs the HTTP/2 and WebSocket rows; a missing peer binary skips its row with a reason. */
export async function runProtocolRows(plan: ProtocolPlan): Promise<ProtocolFigures> {
  const { ctx, rounds, durationS, progress, attempt } = plan;
  const skipped: string[] = [];
  const failures: string[] = [];
  let h2: ProtocolFigures['h2'] = null;
  let ws: ProtocolFigures['ws'] = null;
  const line = (s: ProtocolSample, unit: string): string =>
    `${fmt(s.perSecond)} ${unit}, ${s.errors} errors, ${s.cpuS ?? '—'} CPU s, ${s.rssMiB ?? '—'} MiB`;

  if (which('nghttpd') === null || which('h2load') === null) {
    skipped.push('HTTP/2 row: nghttpd or h2load missing (run scripts/setup-protocols.sh)');
  } else {
    const target = await startNghttpd(join(ctx.scratch, 'nghttpd'), plan.targetCpu);
    const byTool: Record<string, ProtocolSample[]> = {};
    try {
      for (let r = 0; r < rounds; r++) {
        for (const tool of r % 2 === 0 ? ['salvo', 'h2load'] : ['h2load', 'salvo']) {
          const label = `round ${r + 1}/${rounds} HTTP/2 ${H2_STREAMS} streams ${tool}`;
          const s = await attempt(label, async () => {
            if (tool === 'h2load') return runH2load(ctx, target.url, durationS, H2_STREAMS);
            const run = await runSalvo(ctx, target.url, {
              workflow: 'h2.ts',
              durationS,
              vus: H2_STREAMS,
            });
            return {
              tool: 'salvo',
              perSecond: run.rps,
              count: run.requests,
              errors: run.errors,
              cpuS: cpu(run.usage),
              rssMiB: rss(run.usage),
            };
          });
          if (s) {
            (byTool[tool] ??= []).push(s);
            progress(`${label}: ${line(s, 'req/s')}`);
          } else failures.push(label);
        }
      }
    } finally {
      await target.close();
    }
    h2 = { streams: H2_STREAMS, target: 'nghttpd --no-tls (h2c), a 2-byte /index.html', byTool };
  }

  {
    const script = join(ctx.root, 'dist', 'bench', 'targets', 'ws-echo.js');
    const child = startChild(process.execPath, [script, '0'], { cpu: plan.targetCpu });
    const byTool: Record<string, ProtocolSample[]> = {};
    try {
      const port = Number((await waitForLine(child, /listening (\d+)/, 'ws echo target'))[1]);
      const url = `ws://127.0.0.1:${port}/`;
      for (let r = 0; r < rounds; r++) {
        for (const tool of r % 2 === 0 ? ['salvo', 'ws loop'] : ['ws loop', 'salvo']) {
          const label = `round ${r + 1}/${rounds} WebSocket echo ${tool}`;
          const s = await attempt(label, async () => {
            if (tool === 'ws loop') return runWsLoop(ctx, url, durationS);
            // --target must be http(s); the workflow reads the ws:// URL from WS_URL.
            const run = await runSalvo(ctx, `http://127.0.0.1:${port}`, {
              workflow: 'ws.ts',
              durationS,
              vus: WS_CONNECTIONS,
              extra: ['-e', `WS_URL=${url}`],
            });
            const iterations = run.requests - run.errors;
            const seconds = run.durationS;
            return {
              tool: 'salvo',
              perSecond: seconds > 0 ? (iterations * WS_MESSAGES_PER_CONNECTION) / seconds : 0,
              count: iterations * WS_MESSAGES_PER_CONNECTION,
              errors: run.errors,
              cpuS: cpu(run.usage),
              rssMiB: rss(run.usage),
            };
          });
          if (s) {
            (byTool[tool] ??= []).push(s);
            progress(`${label}: ${line(s, 'messages/s')}`);
          } else failures.push(label);
        }
      }
    } finally {
      await stop(child);
    }
    ws = { connections: WS_CONNECTIONS, messagesPerConnection: WS_MESSAGES_PER_CONNECTION, byTool };
  }

  const h2Ratio = ratio(medianOf(h2?.byTool['salvo']), medianOf(h2?.byTool['h2load']));
  const wsRatio = ratio(medianOf(ws?.byTool['salvo']), medianOf(ws?.byTool['ws loop']));
  return {
    h2,
    ws,
    skipped,
    failures,
    salvo_over_h2load_h2_100_streams: h2Ratio,
    salvo_over_ws_loop_messages: wsRatio,
    goals: [
      goal(
        `HTTP/2 req/s salvo/h2load, ${H2_STREAMS} streams`,
        'salvo_over_h2load_h2_100_streams',
        h2Ratio,
        '>=',
        0.5,
      ),
      goal(
        'WebSocket messages/s salvo/ws loop',
        'salvo_over_ws_loop_messages',
        wsRatio,
        '>=',
        0.5,
        true,
      ),
    ],
  };
}

/** The rows for the printed table: scenario, tool, rate (median, min–max), errors, CPU s, RSS. */
export function protocolTable(f: ProtocolFigures): string {
  const rows: string[][] = [
    ['scenario', 'tool', 'rate (median, min–max)', 'errors', 'CPU s', 'peak RSS MiB'],
  ];
  const add = (scenario: string, byTool: Record<string, ProtocolSample[]>, unit: string): void => {
    for (const [tool, samples] of Object.entries(byTool)) {
      const rates = samples.map((s) => s.perSecond);
      const mid = median(rates);
      const spread =
        samples.length > 1 ? ` (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))})` : '';
      rows.push([
        scenario,
        tool,
        `${fmt(mid)} ${unit}${spread}`,
        fmt(median(samples.map((s) => s.errors))),
        fmt(median(samples.map((s) => s.cpuS ?? NaN)), 2),
        fmt(median(samples.map((s) => s.rssMiB ?? NaN)), 1),
      ]);
    }
  };
  if (f.h2) add(`HTTP/2 h2c, ${f.h2.streams} streams`, f.h2.byTool, 'req/s');
  if (f.ws) add(`WebSocket echo, ${f.ws.connections} connections`, f.ws.byTool, 'msg/s');
  return table(rows);
}
