// The protocol rows of `npm run bench`: HTTP/2, Salvo's http2 client against h2load (Debian's
// nghttp2-client) on the same nghttpd target at 100 concurrent streams, laid out the same way
// for both (100 connections × 1 stream, and 1 connection × 100 streams), with a bare
// node:http2 client loop beside them as the reference; WebSocket, Salvo's ws
// client against a plain `ws` client loop on the same echo target, in messages/s echoed. The
// target is pinned to one core and each generator to the other, A/B interleaved over rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSalvo, type Context } from './generators.js';
import { measured, startChild, stop, which, type Usage } from './proc.js';
import { fmt, goal, median, ratio, table, type Goal } from './report.js';

/** Concurrent streams in the HTTP/2 rows, for every tool. */
export const H2_STREAMS = 100;
/**
 * How the HTTP/2 rows lay the streams out, identically for each tool: h2load `-c C -m M`;
 * Salvo 100 VUs, each with its own session (C = 100) or sharing C sessions (`http2: {
 * connections: C }`); the node:http2 loop C sessions with M streams each.
 */
export const H2_LAYOUTS = [
  {
    key: 'c100m1',
    connections: 100,
    streamsPerConnection: 1,
    tools: ['salvo', 'h2load', 'node:http2 loop'],
  },
  { key: 'c1m100', connections: 1, streamsPerConnection: 100, tools: ['salvo', 'h2load'] },
] as const;
export type H2LayoutKey = (typeof H2_LAYOUTS)[number]['key'];
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
  h2: {
    streams: number;
    target: string;
    layouts: Record<
      string,
      {
        connections: number;
        streamsPerConnection: number;
        byTool: Record<string, ProtocolSample[]>;
      }
    >;
  } | null;
  ws: {
    connections: number;
    messagesPerConnection: number;
    byTool: Record<string, ProtocolSample[]>;
  } | null;
  skipped: string[];
  failures: string[];
  goals: Goal[];
  /** 100 connections × 1 stream each. */
  salvo_over_h2load_h2_100_streams: number | null;
  /** 1 connection × 100 streams. */
  salvo_over_h2load_h2_1x100_streams: number | null;
  salvo_over_node_http2_loop_100_streams: number | null;
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

/** One HTTP/2 run: `connections` × `streams` each against `url` for `durationS`. */
interface H2Run {
  url: string;
  durationS: number;
  connections: number;
  streams: number;
}

async function runH2load(ctx: Context, run: H2Run): Promise<ProtocolSample> {
  const { url, durationS, connections, streams } = run;
  const h2load = which('h2load');
  if (h2load === null) throw new Error('h2load is not installed (scripts/setup-protocols.sh)');
  const done = await measured(
    h2load,
    [
      '-t',
      '1',
      '-c',
      String(connections),
      '-m',
      String(streams),
      '-D',
      String(durationS),
      `${url}/index.html`,
    ],
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

async function runNodeH2Loop(ctx: Context, run: H2Run): Promise<ProtocolSample> {
  const { url, durationS, connections, streams } = run;
  return runLoopScript(ctx, 'node:http2 loop', 'h2-loop.js', durationS, 'requests', [
    `${url}/index.html`,
    String(connections),
    String(streams),
    String(durationS),
  ]);
}

async function runWsLoop(ctx: Context, url: string, durationS: number): Promise<ProtocolSample> {
  return runLoopScript(ctx, 'ws loop', 'ws-loop.js', durationS, 'messages', [
    url,
    String(WS_CONNECTIONS),
    String(durationS),
    String(WS_MESSAGES_PER_CONNECTION),
  ]);
}

/**
 * Runs a loop script of bench/targets as a measured process: its last stdout line is JSON
 * with `count` (its unit: requests or messages), `seconds` and `errors`.
 */
async function runLoopScript(
  ctx: Context,
  tool: string,
  script: string,
  durationS: number,
  count: 'requests' | 'messages',
  args: string[],
): Promise<ProtocolSample> {
  const done = await measured(
    process.execPath,
    [join(ctx.root, 'dist', 'bench', 'targets', script), ...args],
    (durationS + 45) * 1000,
    join(ctx.scratch, `${script}-usage-${Date.now()}`),
    { cpu: ctx.cpu, env: ctx.env },
  );
  const line = done.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (done.code !== 0 || line === undefined) {
    throw new Error(`${tool} exited with ${done.code}: ${done.stderr.trim()}`);
  }
  const j = JSON.parse(line) as Record<string, number>;
  const n = j[count] ?? 0;
  const seconds = j['seconds'] ?? 0;
  return {
    tool,
    perSecond: seconds > 0 ? n / seconds : 0,
    count: n,
    errors: j['errors'] ?? 0,
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

/** One HTTP/2 sample of `tool` with `c` connections × `m` streams each. */
async function runH2Tool(
  ctx: Context,
  tool: string,
  url: string,
  durationS: number,
  c: number,
  m: number,
): Promise<ProtocolSample> {
  const h2run = { url, durationS, connections: c, streams: m };
  if (tool === 'h2load') return runH2load(ctx, h2run);
  if (tool === 'node:http2 loop') return runNodeH2Loop(ctx, h2run);
  // Salvo: c × m VUs; each its own session when c equals them, else sharing c sessions.
  const vus = c * m;
  const run = await runSalvo(ctx, url, {
    workflow: 'h2.ts',
    durationS,
    vus,
    ...(c < vus ? { extra: ['-e', `H2_CONNECTIONS=${c}`] } : {}),
  });
  return {
    tool: 'salvo',
    perSecond: run.rps,
    count: run.requests,
    errors: run.errors,
    cpuS: cpu(run.usage),
    rssMiB: rss(run.usage),
  };
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
    const layouts: NonNullable<ProtocolFigures['h2']>['layouts'] = {};
    try {
      for (let r = 0; r < rounds; r++) {
        for (const layout of H2_LAYOUTS) {
          const { connections: c, streamsPerConnection: m } = layout;
          const entry = (layouts[layout.key] ??= {
            connections: c,
            streamsPerConnection: m,
            byTool: {},
          });
          // Rotate the order each round so no tool always runs first.
          const tools: string[] = [...layout.tools];
          for (let k = 0; k < r % tools.length; k++) tools.push(tools.shift() as string);
          for (const tool of tools) {
            const label = `round ${r + 1}/${rounds} HTTP/2 ${c}×${m} streams ${tool}`;
            const s = await attempt(label, () => runH2Tool(ctx, tool, target.url, durationS, c, m));
            if (s) {
              (entry.byTool[tool] ??= []).push(s);
              progress(`${label}: ${line(s, 'req/s')}`);
            } else failures.push(label);
          }
        }
      }
    } finally {
      await target.close();
    }
    h2 = { streams: H2_STREAMS, target: 'nghttpd --no-tls (h2c), a 2-byte /index.html', layouts };
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

  const wide = h2?.layouts['c100m1']?.byTool;
  const narrow = h2?.layouts['c1m100']?.byTool;
  const h2Ratio = ratio(medianOf(wide?.['salvo']), medianOf(wide?.['h2load']));
  const h2NarrowRatio = ratio(medianOf(narrow?.['salvo']), medianOf(narrow?.['h2load']));
  const h2LoopRatio = ratio(medianOf(wide?.['salvo']), medianOf(wide?.['node:http2 loop']));
  const wsRatio = ratio(medianOf(ws?.byTool['salvo']), medianOf(ws?.byTool['ws loop']));
  return {
    h2,
    ws,
    skipped,
    failures,
    salvo_over_h2load_h2_100_streams: h2Ratio,
    salvo_over_h2load_h2_1x100_streams: h2NarrowRatio,
    salvo_over_node_http2_loop_100_streams: h2LoopRatio,
    salvo_over_ws_loop_messages: wsRatio,
    goals: [
      goal(
        `HTTP/2 req/s salvo/h2load, ${H2_STREAMS} connections × 1 stream`,
        'salvo_over_h2load_h2_100_streams',
        h2Ratio,
        '>=',
        0.5,
      ),
      goal(
        `HTTP/2 req/s salvo/h2load, 1 connection × ${H2_STREAMS} streams`,
        'salvo_over_h2load_h2_1x100_streams',
        h2NarrowRatio,
        '>=',
        0.5,
      ),
      goal(
        `HTTP/2 req/s salvo/bare node:http2 loop, ${H2_STREAMS} connections × 1 stream`,
        'salvo_over_node_http2_loop_100_streams',
        h2LoopRatio,
        '>=',
        1,
        true,
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
  for (const l of Object.values(f.h2?.layouts ?? {})) {
    add(`HTTP/2 h2c, ${l.connections} conn × ${l.streamsPerConnection} streams`, l.byTool, 'req/s');
  }
  if (f.ws) add(`WebSocket echo, ${f.ws.connections} connections`, f.ws.byTool, 'msg/s');
  return table(rows);
}
