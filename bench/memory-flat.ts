// Memory stays flat: runs the same steady workflow at the same rate for a short and a long
// duration and compares the salvo process's peak RSS (VmHWM from /proc). Both runs skip the
// one-time type check (--no-check), whose compiler would dominate the short run's peak.
// Not part of npm test.
//   npm run bench:memory [-- --rate 2000 --short 10s --long 60s]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTargetServer } from '../src/target/server.js';
import { tryParseDuration } from '../src/api/duration.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_RATIO = 1.2;
const POLL_MS = 200;

function peakRssKb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch (error) {
    void error; // the process has exited between polls; the last reading stands
    return undefined;
  }
}

async function measure(
  target: string,
  rate: number,
  duration: string,
  out: string,
): Promise<{ peakKb: number; requests: number }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'salvo.js'),
      'run',
      join(ROOT, 'bench', 'workflows', 'steady.ts'),
      '--target',
      target,
      '--rate',
      String(rate),
      '--duration',
      duration,
      '--workers',
      '2',
      '-q',
      '--no-check',
      '--out',
      out,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, SALVO_CACHE_DIR: join(tmpdir(), 'salvo-bench-cache') },
    },
  );
  let peakKb = 0;
  const timer = setInterval(() => {
    if (child.pid === undefined) return;
    peakKb = Math.max(peakKb, peakRssKb(child.pid) ?? 0);
  }, POLL_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`salvo exited with ${code} for the ${duration} run`);
  const results = JSON.parse(readFileSync(out, 'utf8')) as {
    workflows: { totals: { count: number } }[];
  };
  return { peakKb, requests: results.workflows.reduce((t, w) => t + w.totals.count, 0) };
}

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    short: { type: 'string', default: '10s' },
    long: { type: 'string', default: '60s' },
  },
});
const rate = Number(values.rate);
for (const d of [values.short, values.long]) {
  if (!tryParseDuration(d).ok) throw new Error(`bad duration ${d}`);
}
const server = await startTargetServer({ port: 0, host: '127.0.0.1' });
const dir = mkdtempSync(join(tmpdir(), 'salvo-bench-'));
try {
  console.log(
    `memory-flat: ${rate} iterations/s against ${server.url}, ${values.short} then ${values.long}`,
  );
  const short = await measure(server.url, rate, values.short, join(dir, 'short.json'));
  const long = await measure(server.url, rate, values.long, join(dir, 'long.json'));
  const ratio = long.peakKb / short.peakKb;
  const rows = [
    ['run', 'requests', 'peak RSS'],
    [values.short, String(short.requests), `${(short.peakKb / 1024).toFixed(1)} MiB`],
    [values.long, String(long.requests), `${(long.peakKb / 1024).toFixed(1)} MiB`],
  ];
  for (const r of rows)
    console.log(
      `${(r[0] ?? '').padEnd(6)} ${(r[1] ?? '').padStart(10)} ${(r[2] ?? '').padStart(12)}`,
    );
  console.log(`long/short peak RSS ratio: ${ratio.toFixed(3)} (target ≤ ${MAX_RATIO})`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'memory-flat.json'),
    `${JSON.stringify({ rate, short: { duration: values.short, ...short }, long: { duration: values.long, ...long }, ratio, maxRatio: MAX_RATIO, node: process.version, date: new Date().toISOString() }, null, 2)}\n`,
  );
  process.exitCode = ratio <= MAX_RATIO ? 0 : 1;
} finally {
  await server.close();
}
