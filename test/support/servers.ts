// Test support: real database and metrics servers from Debian's packages (installed by
// scripts/setup-reporters.sh), each started on a free loopback port with its data in a temp
// dir, and stopped (process group killed, dir removed) by `stop()`. A missing binary fails the
// test with a message naming the setup script.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SETUP_HINT =
  'run scripts/setup-reporters.sh (it installs the servers the reporter tests use)';

export interface RunningServer {
  port: number;
  url: string;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
  /** Output so far (for failure messages). */
  log: () => string;
}

export function requireBinary(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${SETUP_HINT}`);
  return path;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
  log: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms (${String(last)})\n${log()}`);
}

function launch(
  cmd: string,
  args: string[],
  dir: string,
  port: number,
  url: string,
  options: { uid?: number; gid?: number } = {},
): RunningServer {
  let output = '';
  const child = spawn(cmd, args, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...options,
  });
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    url,
    dir,
    child,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch (error) {
          output += `\n(stop: ${String(error)})`;
        }
        const killer = setTimeout(() => {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        }, 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const tcpOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

const httpOk = async (url: string): Promise<boolean> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status < 500;
};

function tempFor(name: string): string {
  return mkdtempSync(join(tmpdir(), `salvo-${name}-`));
}

/** Redis without background saves; a dump.rdb already in `dirIn` is loaded at start. */
export async function startRedis(port?: number, dirIn?: string): Promise<RunningServer> {
  const bin = requireBinary('/usr/bin/redis-server');
  const p = port ?? (await freePort());
  const dir = dirIn ?? tempFor('redis');
  const s = launch(
    bin,
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    dir,
    p,
    `redis://127.0.0.1:${p}`,
  );
  await waitUntil('redis', () => tcpOpen(p), 20_000, s.log);
  return s;
}

export async function startPostgres(): Promise<RunningServer> {
  const bindir = '/usr/lib/postgresql/15/bin';
  requireBinary(`${bindir}/postgres`);
  const dir = tempFor('pg');
  const data = join(dir, 'data');
  const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const uid = Number(pw.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid)) throw new Error(`no 'postgres' user: ${SETUP_HINT}`);
  chownSync(dir, uid, gid);
  const init = spawnSync(
    `${bindir}/initdb`,
    ['-D', data, '-U', 'salvo', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    {
      uid,
      gid,
      encoding: 'utf8',
    },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const s = launch(
    `${bindir}/postgres`,
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ],
    dir,
    port,
    `postgres://salvo@127.0.0.1:${port}/postgres`,
    { uid, gid },
  );
  await waitUntil('postgres', () => tcpOpen(port), 30_000, s.log);
  return s;
}

export async function startMariadb(): Promise<RunningServer> {
  const bin = requireBinary('/usr/sbin/mariadbd');
  const dir = tempFor('mariadb');
  const data = join(dir, 'data');
  const init = spawnSync(
    '/usr/bin/mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { encoding: 'utf8' },
  );
  if (init.status !== 0)
    throw new Error(`mariadb-install-db failed: ${init.stderr}\n${SETUP_HINT}`);
  const port = await freePort();
  const s = launch(
    bin,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--user=root',
      '--skip-grant-tables',
      '--skip-log-bin',
      '--innodb-flush-log-at-trx-commit=0',
    ],
    dir,
    port,
    `mysql://root@127.0.0.1:${port}/salvo`,
  );
  await waitUntil('mariadb', () => tcpOpen(port), 30_000, s.log);
  return s;
}

export async function startInflux(): Promise<RunningServer> {
  const bin = requireBinary('/usr/bin/influxd');
  const dir = tempFor('influx');
  const port = await freePort();
  const rpc = await freePort();
  writeFileSync(
    join(dir, 'influxdb.conf'),
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
`,
  );
  const s = launch(
    bin,
    ['-config', join(dir, 'influxdb.conf')],
    dir,
    port,
    `http://127.0.0.1:${port}`,
  );
  await waitUntil('influxdb', () => httpOk(`http://127.0.0.1:${port}/ping`), 30_000, s.log);
  return s;
}

export async function startPushgateway(): Promise<RunningServer> {
  const bin = requireBinary('/usr/bin/prometheus-pushgateway');
  const dir = tempFor('pushgw');
  const port = await freePort();
  const s = launch(
    bin,
    [`--web.listen-address=127.0.0.1:${port}`],
    dir,
    port,
    `http://127.0.0.1:${port}`,
  );
  await waitUntil('pushgateway', () => httpOk(`http://127.0.0.1:${port}/-/ready`), 30_000, s.log);
  return s;
}

/** Prometheus with the remote-write receiver on, scraping `scrapeTargets` every second. */
export async function startPrometheus(scrapeTargets: string[]): Promise<RunningServer> {
  const bin = requireBinary('/usr/bin/prometheus');
  const dir = tempFor('prom');
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1m
scrape_configs:
  - job_name: salvo
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [${scrapeTargets.map((t) => `'${t}'`).join(', ')}]
`,
  );
  const s = launch(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    dir,
    port,
    `http://127.0.0.1:${port}`,
  );
  await waitUntil('prometheus', () => httpOk(`http://127.0.0.1:${port}/-/ready`), 30_000, s.log);
  return s;
}

/** An instant PromQL query; the vector's samples as (labels, value). */
export async function promQuery(
  base: string,
  query: string,
): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
