// `npm run bench`: Salvo against autocannon and wrk at the hardware limit, then the protocol
// rows (HTTP/2 against h2load, WebSocket against a plain ws loop; bench/lib/protocols.ts). Sets up the target,
// runs every generator A/B interleaved over several rounds (no discarded warm-up), prints each
// figure's median and spread across rounds — with the open model's dropped iterations on a
// fixed pool and Salvo's own event-loop delay — and writes bench/results/latest.json. Exit 0
// even when a goal is missed (it is a report); 1 when the harness or a generator run failed.
// Never part of `npm test`.
//   npm run bench [-- --quick] [--only salvo,autocannon] [--rounds 3] [--duration 10]
//                 [--skip-setup] [--builtin-target] [--markdown] [--protocols-only]
//                 [--skip-protocols]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  TOOLS,
  runAutocannon,
  runSalvo,
  runWrk,
  type Context,
  type Sample,
  type Tool,
} from './lib/generators.js';
import { describeMachine } from './lib/machine.js';
import { killAll, run, which } from './lib/proc.js';
import {
  HEADER,
  closedRows,
  contention,
  fmt,
  goal,
  goalLines,
  ratio,
  summarize,
  table,
  type ByTool,
  type CoWorkflow,
  type Goal,
} from './lib/report.js';
import { markdown } from './lib/markdown.js';
import { protocolTable, runProtocolRows, type ProtocolFigures } from './lib/protocols.js';
import { startMainTarget, startStallTarget, type Target } from './lib/targets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARGETS_DIR = fileURLToPath(new URL('./targets/', import.meta.url));
const LATEST = join(ROOT, 'bench', 'results', 'latest.json');
const PROTOCOLS_LATEST = join(ROOT, 'bench', 'results', 'protocols.json');
const SETUP_TIMEOUT_MS = 15 * 60_000;
const OPEN_RATE = 10_000;
/** The open model's pool: pre-allocated and maximum VUs alike, so it never grows. */
const OPEN_CONNECTIONS = 100;
/** Goal: at most this share of the open model's scheduled iterations dropped, in every round. */
const MAX_DROPPED_PERCENT = 0.01;
/** Goal: Salvo's own event-loop delay p99 in every round of every scenario. */
const MAX_LOOP_DELAY_P99_MS = 2;
const CO_P99_MIN_MS = 800;
const CO_P50_MAX_MS = 100;
const CONNECTIONS = [100, 1000] as const;
const USAGE = `npm run bench [-- options]
  --quick            1 round, 3 s runs, 6 s coordinated-omission check (for iteration)
  --only LIST        generators to run, e.g. salvo,autocannon (default: salvo,autocannon,wrk)
  --rounds N         interleaved rounds; the median is reported (default 3)
  --duration S       seconds per run (default 10)
  --skip-setup       do not run scripts/bench-setup.sh
  --builtin-target   use the built-in fixed-response target even when nginx is installed
  --markdown         print bench/results/latest.json as the README's Markdown table and exit
  --protocols-only   only the HTTP/2 (vs h2load) and WebSocket (vs a ws loop) rows; writes
                     bench/results/protocols.json
  --skip-protocols   leave the HTTP/2 and WebSocket rows out`;

function usageError(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        rounds: { type: 'string' },
        duration: { type: 'string' },
        'skip-setup': { type: 'boolean', default: false },
        'builtin-target': { type: 'boolean', default: false },
        markdown: { type: 'boolean', default: false },
        'protocols-only': { type: 'boolean', default: false },
        'skip-protocols': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
}
const values = parseOptions();

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.markdown) {
  console.log(markdown(JSON.parse(readFileSync(LATEST, 'utf8'))));
  process.exit(0);
}

const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const durationS = Number(values.duration ?? (quick ? 3 : 10));
const coDurationS = quick ? 6 : 12;
// The open model compares CPU per 100 000 requests: a longer run amortises each tool's one-off
// start-up (process, compile, connections) the way a real test of minutes would.
const openDurationS = quick ? durationS : Math.max(durationS, 30);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) usageError('--rounds: 1 to 20');
if (!Number.isInteger(durationS) || durationS < 1 || durationS > 600) {
  usageError('--duration: whole seconds, 1 to 600');
}
const only = values.only?.split(',').map((s) => s.trim()) ?? [...TOOLS];
for (const t of only) {
  if (!TOOLS.includes(t as Tool)) usageError(`--only: unknown tool '${t}' (${TOOLS.join(', ')})`);
}

const failures: string[] = [];
const startedAt = Date.now();
function progress(message: string): void {
  const s = Math.round((Date.now() - startedAt) / 1000);
  console.log(
    `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${message}`,
  );
}

// ---- setup --------------------------------------------------------------------------------

if (!values['skip-setup']) {
  progress('setup: scripts/bench-setup.sh (installs nginx-light and wrk when missing and root)');
  const setup = await run('bash', [join(ROOT, 'scripts', 'bench-setup.sh')], SETUP_TIMEOUT_MS, {
    cwd: ROOT,
    echo: '  setup: ',
  });
  if (setup.code !== 0) progress(`setup exited with ${setup.code}; continuing with what is there`);
}
const cores = cpus().length;
const targetCpu = cores >= 2 ? 0 : undefined;
const generatorCpu = cores >= 2 ? 1 : undefined;
const wrkInstalled = which('wrk') !== null;
const tools = TOOLS.filter((t) => only.includes(t) && (t !== 'wrk' || wrkInstalled));
if (only.includes('wrk') && !wrkInstalled) progress('wrk is not installed: its rows are skipped');

const scratch = mkdtempSync(join(tmpdir(), 'salvo-bench-'));
// Ctrl-C or a kill: stop every child's process group and remove the scratch dir.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    killAll();
    rmSync(scratch, { recursive: true, force: true });
    process.exit(code);
  });
}
const ctx: Context = {
  root: ROOT,
  scratch,
  cpu: generatorCpu,
  env: { ...process.env, SALVO_CACHE_DIR: join(scratch, 'cache') },
};
const machine = describeMachine(ROOT, targetCpu, generatorCpu);
progress(
  `machine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}; ${machine.pinning}; usage via ${machine.usageMethod}`,
);
progress(
  `plan: ${rounds} round(s) × ${durationS} s; tools: ${tools.join(', ')}; closed c=${CONNECTIONS.join(', ')}; open ${OPEN_RATE}/s × ${openDurationS} s on ${OPEN_CONNECTIONS} VUs (fixed); CO check ${coDurationS} s; about ${Math.ceil(estimateS() / 60)} min`,
);

const retried: string[] = [];

/** The protocol rows with this run's settings (the target on its core, generators on theirs). */
async function protocolRows(): Promise<ProtocolFigures | null> {
  try {
    return await runProtocolRows({
      ctx,
      rounds,
      durationS,
      targetCpu,
      progress,
      attempt,
    });
  } catch (error) {
    const message = `protocol rows: ${error instanceof Error ? error.message : String(error)}`;
    failures.push(message);
    progress(`FAILED ${message}`);
    return null;
  } finally {
    killAll();
  }
}

if (values['protocols-only']) {
  const figures = await protocolRows();
  console.log('');
  if (figures) {
    console.log(protocolTable(figures));
    for (const s of figures.skipped) console.log(`skipped: ${s}`);
    console.log('');
    for (const l of goalLines(figures.goals)) console.log(l);
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    PROTOCOLS_LATEST,
    `${JSON.stringify({ schema: 'salvo.bench.protocols/v2', date: new Date().toISOString(), mode: quick ? 'quick' : 'full', rounds, durationS, machine, ...figures, failures, retried }, null, 2)}\n`,
  );
  progress(`wrote ${PROTOCOLS_LATEST}`);
  rmSync(scratch, { recursive: true, force: true });
  process.exit(failures.length > 0 ? 1 : 0);
}

/** Runs `fn`; on failure retries once (a shared machine has hiccups) and records what failed. */
/** Rough wall time of the plan: each run costs its duration plus ~2 s of start and stop. */
function estimateS(): number {
  const openCount = tools.filter((t) => t !== 'wrk').length;
  const perRound =
    CONNECTIONS.length * tools.length * (durationS + 2) + openCount * (openDurationS + 2);
  // The protocol rows per round: HTTP/2 in two layouts (3 + 2 tools), WebSocket (2 tools).
  const protocolsS = values['skip-protocols'] ? 0 : rounds * 7 * (durationS + 3);
  if (values['protocols-only']) return 5 + protocolsS;
  return 5 + rounds * perRound + 2 * (coDurationS + 3) + protocolsS;
}

async function attempt<T>(label: string, fn: () => Promise<T>): Promise<T | null> {
  for (let i = 0; ; i++) {
    try {
      const value = await fn();
      if (i > 0) retried.push(label);
      return value;
    } catch (error) {
      const message = `${label}: ${error instanceof Error ? error.message : String(error)}`;
      if (i === 0) {
        progress(`retrying after a failure — ${message}`);
        continue;
      }
      failures.push(message);
      progress(`FAILED ${message}`);
      return null;
    }
  }
}

function rotate<T>(list: readonly T[], by: number): T[] {
  return list.map((_, i) => list[(i + by) % list.length] as T);
}

function line(s: Sample): string {
  const u = s.usage;
  const other =
    u?.coreOtherS !== undefined && u.coreOtherS !== null && u.coreOtherS >= 0.05
      ? ` (others took ${u.coreOtherS.toFixed(2)} CPU s of the generator core)`
      : '';
  const cpu = u
    ? `${(u.userS + u.sysS).toFixed(2)} CPU s, ${(u.maxRssKb / 1024).toFixed(0)} MiB${other}`
    : 'no usage';
  const eld = s.loopDelayMs
    ? `, loop delay p99 ${s.loopDelayMs.p99.toFixed(2)} ms max ${s.loopDelayMs.max.toFixed(1)} ms`
    : '';
  return `${fmt(s.rps)} req/s, p99 ${s.latencyMs.p99.toFixed(1)} ms, ${cpu}${s.errors ? `, ${s.errors} errors` : ''}${eld}`;
}

async function closedRun(tool: Tool, target: Target, connections: number): Promise<Sample> {
  switch (tool) {
    case 'salvo':
      return runSalvo(ctx, target.url, { workflow: 'closed.ts', durationS, vus: connections });
    case 'autocannon':
      return runAutocannon(ctx, target.url, { connections, durationS });
    case 'wrk':
      return runWrk(ctx, target.url, { connections, durationS });
  }
}

// ---- the runs -----------------------------------------------------------------------------

const closed: Record<string, Partial<Record<Tool, Sample[]>>> = { c100: {}, c1000: {} };
const open: Partial<Record<Tool, Sample[]>> = {};
const openTools = tools.filter((t): t is 'salvo' | 'autocannon' => t !== 'wrk');
let coSalvo: Sample | null = null;
let coAutocannon: Sample | null = null;
let target: Target | null = null;
let targetKind: 'nginx' | 'builtin' | null = null;
let targetNote: string | null = null;

try {
  target = await startMainTarget(
    join(scratch, 'nginx'),
    targetCpu,
    TARGETS_DIR,
    values['builtin-target'],
  );
  progress(
    target.kind === 'nginx'
      ? `target: nginx ${machine.nginx ?? ''} on ${target.url}`
      : `target: BUILT-IN fixed-response target on ${target.url} (${target.note ?? 'nginx unavailable'}) — figures are not comparable with nginx runs`,
  );
  const main = target;
  targetKind = target.kind === 'nginx' ? 'nginx' : 'builtin';
  targetNote = target.note ?? null;

  for (let r = 0; r < rounds; r++) {
    for (const connections of r % 2 === 0 ? CONNECTIONS : [...CONNECTIONS].reverse()) {
      for (const tool of rotate(tools, r)) {
        const label = `round ${r + 1}/${rounds} closed c=${connections} ${tool}`;
        const s = await attempt(label, () => closedRun(tool, main, connections));
        if (s) {
          ((closed[`c${connections}`] ??= {})[tool] ??= []).push(s);
          progress(`${label}: ${line(s)}`);
        }
      }
    }
    for (const tool of rotate(openTools, r)) {
      const label = `round ${r + 1}/${rounds} open ${OPEN_RATE}/s ${tool}`;
      const s = await attempt(label, () =>
        tool === 'salvo'
          ? runSalvo(ctx, main.url, {
              workflow: 'open.ts',
              durationS: openDurationS,
              rate: OPEN_RATE,
              vus: OPEN_CONNECTIONS,
            })
          : runAutocannon(ctx, main.url, {
              connections: OPEN_CONNECTIONS,
              durationS: openDurationS,
              overallRate: OPEN_RATE,
            }),
      );
      if (s) {
        (open[tool] ??= []).push(s);
        const per100k = s.usage ? ((s.usage.userS + s.usage.sysS) / s.requests) * 100_000 : NaN;
        progress(
          `${label}: ${line(s)}, ${per100k.toFixed(2)} CPU s/100k${s.dropped !== undefined ? `, ${s.dropped} dropped` : ''}`,
        );
      }
    }
  }
  await target.close();
  target = null;

  // Coordinated omission: a fresh stalling target for each generator, so both see the same
  // stall schedule from their first request.
  if (tools.includes('salvo')) {
    progress(`CO check: salvo open-model executors against the stalling target, ${coDurationS} s`);
    const stall = await startStallTarget(targetCpu, TARGETS_DIR);
    coSalvo = await attempt('CO check salvo', () =>
      runSalvo(ctx, stall.url, { workflow: 'stall.ts', durationS: coDurationS }),
    );
    await stall.close();
    for (const w of coSalvo?.workflows ?? []) {
      progress(
        `CO check ${w.name}: p50 ${w.latencyMs.p50.toFixed(1)} ms, p99 ${w.latencyMs.p99.toFixed(1)} ms, ${w.requests} requests, ${w.dropped} dropped`,
      );
    }
  }
  if (tools.includes('autocannon')) {
    progress(
      `CO contrast: autocannon closed model (-c 100) against the stalling target, ${coDurationS} s`,
    );
    const stall = await startStallTarget(targetCpu, TARGETS_DIR);
    coAutocannon = await attempt('CO contrast autocannon', () =>
      runAutocannon(ctx, stall.url, { connections: 100, durationS: coDurationS }),
    );
    await stall.close();
    if (coAutocannon) {
      progress(
        `CO contrast autocannon: p50 ${coAutocannon.latencyMs.p50} ms, p99 ${coAutocannon.latencyMs.p99} ms`,
      );
    }
  }
} catch (error) {
  failures.push(
    `harness: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  progress(`FAILED harness: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  if (target) await target.close();
  killAll();
}

const protocols = values['skip-protocols'] ? null : await protocolRows();

// ---- figures ------------------------------------------------------------------------------

function byTool(samples: Partial<Record<Tool, Sample[]>>): ByTool {
  const out: ByTool = {};
  for (const tool of TOOLS) {
    const list = samples[tool];
    if (list && list.length > 0) out[tool] = summarize(list);
  }
  return out;
}

const c100 = byTool(closed['c100'] ?? {});
const c1000 = byTool(closed['c1000'] ?? {});
const openFigures = byTool(open);
const coWorkflows: CoWorkflow[] = (coSalvo?.workflows ?? []).map((w) => ({
  ...w,
  // Dropped iterations would hide latency again, so at most 1% may be dropped.
  passed:
    w.latencyMs.p99 >= CO_P99_MIN_MS &&
    w.latencyMs.p50 <= CO_P50_MAX_MS &&
    w.dropped <= 0.01 * (w.requests + w.dropped),
}));
const coPassed =
  coWorkflows.length === 0 ? null : coWorkflows.every((w) => w.passed) && coWorkflows.length >= 2;

const allSamples = [c100, c1000, openFigures].flatMap((b) =>
  Object.values(b).flatMap((r) => r?.samples ?? []),
);
const generatorCoreContention = contention(allSamples);

/** The worst round's share of scheduled open-model iterations Salvo dropped, in percent. */
function worstDroppedPercent(r: ByTool['salvo']): number | null {
  if (!r) return null;
  const planned = OPEN_RATE * openDurationS;
  const worst = Math.max(...r.samples.map((x) => x.dropped ?? 0));
  return Math.round((worst / planned) * 100 * 10_000) / 10_000;
}

const top = {
  salvo_over_autocannon_c100: ratio(c100.salvo?.median.rps, c100.autocannon?.median.rps),
  salvo_over_autocannon_c1000: ratio(c1000.salvo?.median.rps, c1000.autocannon?.median.rps),
  salvo_over_wrk_c100: ratio(c100.salvo?.median.rps, c100.wrk?.median.rps),
  cpu_per_100k_salvo_over_autocannon: ratio(
    openFigures.salvo?.median.cpuPer100k,
    openFigures.autocannon?.median.cpuPer100k,
  ),
  rss_c1000_salvo_over_autocannon: ratio(
    c1000.salvo?.median.rssMiB,
    c1000.autocannon?.median.rssMiB,
  ),
  open_dropped_percent_worst_round: worstDroppedPercent(openFigures.salvo),
  loop_delay_p99_ms_worst_round_c100: c100.salvo?.max.loopDelayP99Ms ?? null,
  loop_delay_p99_ms_worst_round_c1000: c1000.salvo?.max.loopDelayP99Ms ?? null,
  loop_delay_p99_ms_worst_round_open: openFigures.salvo?.max.loopDelayP99Ms ?? null,
  co_check_passed: coPassed,
};

const goals: Goal[] = [
  goal(
    'closed req/s salvo/autocannon, 100 connections',
    'salvo_over_autocannon_c100',
    top.salvo_over_autocannon_c100,
    '>=',
    2,
  ),
  goal(
    'closed req/s salvo/autocannon, 1000 connections',
    'salvo_over_autocannon_c1000',
    top.salvo_over_autocannon_c1000,
    '>=',
    2,
  ),
  goal(
    'open CPU s/100k salvo/autocannon',
    'cpu_per_100k_salvo_over_autocannon',
    top.cpu_per_100k_salvo_over_autocannon,
    '<=',
    0.67,
  ),
  goal(
    'closed req/s salvo/wrk, 100 connections',
    'salvo_over_wrk_c100',
    top.salvo_over_wrk_c100,
    '>=',
    0.7,
  ),
  goal(
    `open dropped %, fixed pool of ${OPEN_CONNECTIONS} (worst round)`,
    'open_dropped_percent_worst_round',
    top.open_dropped_percent_worst_round,
    '<=',
    MAX_DROPPED_PERCENT,
  ),
  goal(
    'salvo loop delay p99 ms, closed c=100 (worst round)',
    'loop_delay_p99_ms_worst_round_c100',
    top.loop_delay_p99_ms_worst_round_c100,
    '<=',
    MAX_LOOP_DELAY_P99_MS,
  ),
  goal(
    'salvo loop delay p99 ms, closed c=1000 (worst round)',
    'loop_delay_p99_ms_worst_round_c1000',
    top.loop_delay_p99_ms_worst_round_c1000,
    '<=',
    MAX_LOOP_DELAY_P99_MS,
  ),
  goal(
    'salvo loop delay p99 ms, open (worst round)',
    'loop_delay_p99_ms_worst_round_open',
    top.loop_delay_p99_ms_worst_round_open,
    '<=',
    MAX_LOOP_DELAY_P99_MS,
  ),
  goal(
    'peak RSS at 1000 connections salvo/autocannon',
    'rss_c1000_salvo_over_autocannon',
    top.rss_c1000_salvo_over_autocannon,
    '<=',
    1.0,
    true,
  ),
  ...(protocols?.goals ?? []),
];

const document = {
  schema: 'salvo.bench/v1',
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  mode: quick ? 'quick' : 'full',
  rounds,
  durationS,
  target: targetKind,
  targetNote,
  ...top,
  goals,
  generatorCoreContention,
  machine,
  closed: { c100, c1000 },
  open: {
    rate: OPEN_RATE,
    connections: OPEN_CONNECTIONS,
    pool: { preAllocatedVus: OPEN_CONNECTIONS, maxVus: OPEN_CONNECTIONS },
    durationS: openDurationS,
    byTool: openFigures,
  },
  coordinatedOmission: {
    target: 'bench/targets/stall.ts: every response held 1 s every 5 s',
    durationS: coDurationS,
    passCriterion: `each open-model executor: p99 >= ${CO_P99_MIN_MS} ms, p50 <= ${CO_P50_MAX_MS} ms, at most 1% of iterations dropped`,
    passed: coPassed,
    salvo: coWorkflows,
    autocannonClosedC100: coAutocannon
      ? {
          p50Ms: coAutocannon.latencyMs.p50,
          p99Ms: coAutocannon.latencyMs.p99,
          requests: coAutocannon.requests,
        }
      : null,
  },
  protocols,
  failures,
  retried,
  runtimeS: Math.round((Date.now() - startedAt) / 1000),
};

// ---- output -------------------------------------------------------------------------------

const rows = [
  HEADER,
  ...closedRows('closed c=100', c100),
  ...closedRows('closed c=1000', c1000),
  ...closedRows(`open ${OPEN_RATE}/s, ${OPEN_CONNECTIONS} VUs`, openFigures, true),
];
console.log('');
console.log(
  `Salvo bench — target: ${targetKind === 'nginx' ? `nginx ${machine.nginx ?? ''}` : `BUILT-IN fixed-response target (${targetNote ?? 'nginx unavailable'})`}; median (min–max) of ${rounds} round(s) × ${durationS} s, open model ${openDurationS} s on a fixed pool of ${OPEN_CONNECTIONS} VUs`,
);
console.log(table(rows));
if (generatorCoreContention !== null && generatorCoreContention >= 0.02) {
  console.log(
    `note: other processes took ${(generatorCoreContention * 100).toFixed(0)}% of the generator core during the runs; the figures are noisy (a quiet machine gives ~0%).`,
  );
}
console.log('');
console.log(
  `coordinated omission (stall 1 s every 5 s, ${coDurationS} s): ${coPassed === null ? 'not run' : coPassed ? 'PASSED' : 'FAILED'}`,
);
for (const w of coWorkflows) {
  console.log(
    `  salvo ${w.executor.padEnd(22)} p50 ${fmt(w.latencyMs.p50, 1).padStart(7)} ms  p99 ${fmt(w.latencyMs.p99, 1).padStart(7)} ms  dropped ${w.dropped}  ${w.passed ? 'shows the stall' : 'does NOT show the stall'}`,
  );
}
if (coAutocannon) {
  console.log(
    `  autocannon closed -c 100        p50 ${fmt(coAutocannon.latencyMs.p50, 1).padStart(7)} ms  p99 ${fmt(coAutocannon.latencyMs.p99, 1).padStart(7)} ms  (contrast, not a criterion)`,
  );
}
if (protocols) {
  console.log('');
  console.log(protocolTable(protocols));
  for (const s of protocols.skipped) console.log(`skipped: ${s}`);
}
console.log('');
console.log('goals (ratios and bounds from this run alone):');
for (const l of goalLines(goals)) console.log(l);
if (failures.length > 0) {
  console.log('');
  console.log(`${failures.length} run(s) failed:`);
  for (const f of failures) console.log(`  ${f.split('\n')[0] ?? ''}`);
}

mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(LATEST, `${JSON.stringify(document, null, 2)}\n`);
console.log('');
progress(`wrote ${LATEST}`);
rmSync(scratch, { recursive: true, force: true });
process.exitCode = failures.length > 0 ? 1 : 0;
