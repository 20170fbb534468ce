// SQL reporters against real servers: PostgreSQL and MariaDB started by the test, SQLite in a
// temp file. One `salvo run --report postgres:… --report mysql:… --report sqlite:…` into tables
// an older version made (no `dc` column: it is added, the old rows stay readable); the rows read
// back must match the results JSON, with `dc` NULL. Then a two-DC cluster job (simulated gate
// cluster, real databases) whose whole-job rows (`dc` = `*`) and per-DC rows match its results.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import {
  mysqlDialect,
  postgresDialect,
  sqliteDialect,
  tables,
  type SqlDialect,
} from '../../src/reporters/sql.js';
import type { ReporterOutcome } from '../../src/reporters/types.js';
import type { LatencySummary, RunResults } from '../../src/stats/types.js';
import { submission } from '../nodes/gate/support/gate-cluster.js';
import { cluster, resultOf } from '../nodes/gate/support/reporting-job.js';
import { tempDir } from '../support/cli.js';
import { startMariadb, startPostgres, type RunningServer } from '../support/servers.js';
import { producedResults, steps, windowSums } from './support.js';

let postgres: RunningServer;
let mariadb: RunningServer;
let results: RunResults;
let stdout: string;
const dir = tempDir('salvo-sql-');
const sqlitePath = join(dir, 'results.db');

before(async () => {
  [postgres, mariadb] = await Promise.all([startPostgres(), startMariadb()]);
  const admin = await mysql.createConnection({ uri: mariadb.url.replace(/\/salvo$/, '/') });
  await admin.query('CREATE DATABASE IF NOT EXISTS salvo');
  await admin.end();
  await createOldTables(await postgresDialect(postgres.url), 'salvo');
  await createOldTables(await mysqlDialect(mariadb.url), 'loadtest');
  await createOldTables(await sqliteDialect(sqlitePath), 'salvo');
  const run = await producedResults([
    '--report',
    `postgres:url=${postgres.url}`,
    '--report',
    `mysql:url=${mariadb.url},table=loadtest`,
    '--report',
    `sqlite:path=${sqlitePath}`,
  ]);
  results = run.results;
  stdout = run.stdout;
});

after(async () => {
  await Promise.all([postgres?.stop(), mariadb?.stop()]);
});

type Row = Record<string, unknown>;
interface StepRow {
  step: string;
  count: number;
  failed: number;
  p50: number;
  p99: number;
}

/**
 * The windows and steps tables as a version without the `dc` column made them, each with one
 * row of an older run ('old-run').
 */
async function createOldTables(dialect: SqlDialect, prefix: string): Promise<void> {
  await dialect.connect();
  try {
    const t = tables(prefix);
    for (const [table, row] of [
      [
        t.windows,
        ['2026-01-01T00:00:00.000Z', 'old-run', 'wf', '*', 1, 0, 1, 1, null, null, null, null],
      ],
      [t.steps, ['old-run', 'wf', 's', 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]],
    ] as const) {
      const old = table.columns.filter(([name]) => name !== 'dc');
      const cols = old.map(
        ([name, type, nullable]) =>
          `${name} ${dialect.columnType(type)}${nullable ? '' : ' NOT NULL'}`,
      );
      await dialect.exec(`CREATE TABLE ${table.name} (${cols.join(', ')})`);
      await dialect.insert(
        table.name,
        old.map(([name]) => name),
        [
          row.map((v, i) =>
            old[i]?.[1] === 'time' && typeof v === 'string' ? dialect.time(v) : v,
          ),
        ],
      );
    }
  } finally {
    await dialect.close();
  }
}

/** The old run's rows are still there, `dc` NULL; every row of the new run has `dc` NULL too. */
function checkMigrated(windowRows: Row[], stepRows: Row[]): void {
  for (const rows of [windowRows, stepRows]) {
    const old = rows.filter((r) => r['run_id'] === 'old-run');
    assert.equal(old.length, 1);
    assert.equal(old[0]?.['dc'], null);
    const run = rows.filter((r) => r['run_id'] === results.run.id);
    assert.ok(run.length > 0);
    assert.ok(
      run.every((r) => r['dc'] === null),
      'a local run has no datacenter',
    );
  }
}

function checkRows(
  allStepRows: Row[],
  allWindowRows: Row[],
  runRows: Row[],
  thresholdRows: Row[],
): void {
  checkMigrated(allWindowRows, allStepRows);
  const stepRows = allStepRows.filter((r) => r['run_id'] === results.run.id);
  const windowRows = allWindowRows.filter((r) => r['run_id'] === results.run.id);
  for (const s of steps(results)) {
    const row = stepRows.find((r) => r['step'] === s.name);
    assert.ok(row, `a steps row for ${s.name}`);
    assert.equal(Number(row['count']), s.count);
    assert.equal(Number(row['failed']), s.failed);
    assert.equal(Number(row['p99_ms']), s.p99);
    assert.equal(Number(row['p50_ms']), s.p50);
    const sum = windowRows
      .filter((r) => r['step'] === s.name)
      .reduce((n, r) => n + Number(r['count']), 0);
    assert.equal(sum, s.count, `window rows of ${s.name} add up to its total`);
    assert.equal(windowSums(results).get(s.name), s.count);
  }
  assert.equal(runRows.length, 1);
  assert.equal(runRows[0]?.['run_id'], results.run.id);
  const stored = runRows[0]?.['results'];
  const parsed = (typeof stored === 'string' ? JSON.parse(stored) : stored) as RunResults;
  assert.equal(parsed.workflows[0]?.totals.count, results.workflows[0]?.totals.count);
  const wf = results.workflows[0];
  assert.ok(wf);
  assert.equal(thresholdRows.length, wf.thresholds.length);
  for (const t of wf.thresholds) {
    const row = thresholdRows.find((r) => r['expression'] === t.expression);
    assert.equal(Number(row?.['passed']), t.passed ? 1 : 0, t.expression);
  }
}

describe('SQL reporters', () => {
  test('the run names the three SQL reporters ok in its summary', () => {
    assert.match(stdout, /reporters: .*postgres ok.*mysql ok.*sqlite ok/);
    assert.deepEqual(
      results.run.notes.filter((n) => n.startsWith('reporter')),
      [],
    );
  });

  test('PostgreSQL: TimescaleDB-compatible windows table and per-step rows equal the results JSON', async () => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const q = async (sql: string): Promise<Row[]> => (await client.query(sql)).rows as Row[];
      const timeCol = await q(
        `SELECT data_type, is_nullable FROM information_schema.columns WHERE table_name = 'salvo_windows' AND column_name = 'time'`,
      );
      assert.deepEqual(timeCol, [{ data_type: 'timestamp with time zone', is_nullable: 'NO' }]);
      checkRows(
        await q('SELECT * FROM salvo_steps'),
        await q('SELECT * FROM salvo_windows'),
        await q('SELECT * FROM salvo_runs'),
        await q('SELECT * FROM salvo_thresholds'),
      );
    } finally {
      await client.end();
    }
  });

  test('MariaDB: rows under the configured table prefix equal the results JSON', async () => {
    const conn = await mysql.createConnection({ uri: mariadb.url });
    try {
      const q = async (sql: string): Promise<Row[]> => (await conn.query(sql))[0] as Row[];
      checkRows(
        await q('SELECT * FROM loadtest_steps'),
        await q('SELECT * FROM loadtest_windows'),
        await q('SELECT * FROM loadtest_runs'),
        await q('SELECT * FROM loadtest_thresholds'),
      );
    } finally {
      await conn.end();
    }
  });

  test('SQLite: rows in the database file equal the results JSON', () => {
    const db = new Database(sqlitePath, { readonly: true });
    try {
      const q = (sql: string): Row[] => db.prepare(sql).all() as Row[];
      checkRows(
        q('SELECT * FROM salvo_steps'),
        q('SELECT * FROM salvo_windows'),
        q('SELECT * FROM salvo_runs'),
        q('SELECT * FROM salvo_thresholds'),
      );
    } finally {
      db.close();
    }
  });

  test('a two-DC cluster job: windows and steps rows of the whole job (dc *) and of each DC equal its results JSON, in all three databases', async () => {
    const s = await cluster({
      reportsDir: join(dir, 'reports'),
      policy: { maxAttempts: 2, backoffBaseMs: 5, backoffMaxMs: 10, finishTimeoutMs: 20_000 },
    });
    const job = await s.client.submitAndWatch({
      ...submission({ dcs: ['a', 'b'] }),
      reports: [
        { kind: 'postgres', url: postgres.url, table: 'jobs' },
        { kind: 'mysql', url: mariadb.url, table: 'jobs' },
        { kind: 'sqlite', path: 'jobs.db', table: 'jobs' },
      ],
    });
    const result = await resultOf(s, job);
    assert.deepEqual(
      (result['reporters'] as ReporterOutcome[]).map((o) => [o.name, o.state, o.error]),
      [
        ['postgres', 'ok', undefined],
        ['mysql', 'ok', undefined],
        ['sqlite', 'ok', undefined],
      ],
    );
    const saved = result['results'] as RunResults;
    const dcs = saved.distributed?.dcs ?? {};
    assert.deepEqual(Object.keys(dcs), ['a', 'b']);

    /** Per `dc`: the steps rows and the sum of the windows rows' counts, per step. */
    const check = (windowRows: Row[], stepRows: Row[], db: string): void => {
      const row = (step: string, count: number, failed: number, l: LatencySummary): StepRow => ({
        step,
        count,
        failed,
        p50: l.p50,
        p99: l.p99,
      });
      const expected: [string, StepRow[]][] = [
        [
          '*',
          saved.workflows.flatMap((w) =>
            w.steps.map((st) => row(st.name, st.count, st.failed, st.latencyMs)),
          ),
        ],
        ...Object.entries(dcs).map(([dc, d]): [string, StepRow[]] => [
          dc,
          (d.steps ?? []).map((st) => row(st.step, st.count, st.failed, st.latencyMs)),
        ]),
      ];
      for (const [dc, want] of expected) {
        assert.ok(want.length > 0, `${db} ${dc}: the results have its steps`);
        const got = stepRows
          .filter((r) => r['dc'] === dc)
          .map((r) => ({
            step: r['step'],
            count: Number(r['count']),
            failed: Number(r['failed']),
            p50: Number(r['p50_ms']),
            p99: Number(r['p99_ms']),
          }))
          .sort((x, y) => String(x.step).localeCompare(String(y.step)));
        const sorted = [...want].sort((x, y) => x.step.localeCompare(y.step));
        assert.deepEqual(got, sorted, `${db} steps rows, dc ${dc}`);
        for (const w of want) {
          const sum = windowRows
            .filter((r) => r['dc'] === dc && r['step'] === w.step)
            .reduce((n, r) => n + Number(r['count']), 0);
          assert.equal(sum, w.count, `${db} windows rows of ${w.step}, dc ${dc}`);
        }
      }
      assert.equal(dcs['a']?.steps?.[0]?.count, 30);
      assert.equal(dcs['b']?.steps?.[0]?.count, 20);
    };

    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const q = async (sql: string): Promise<Row[]> =>
        (await client.query(sql, [job])).rows as Row[];
      check(
        await q('SELECT * FROM jobs_windows WHERE run_id = $1'),
        await q('SELECT * FROM jobs_steps WHERE run_id = $1'),
        'postgres',
      );
    } finally {
      await client.end();
    }
    const conn = await mysql.createConnection({ uri: mariadb.url });
    try {
      const q = async (sql: string): Promise<Row[]> => (await conn.query(sql, [job]))[0] as Row[];
      check(
        await q('SELECT * FROM jobs_windows WHERE run_id = ?'),
        await q('SELECT * FROM jobs_steps WHERE run_id = ?'),
        'mariadb',
      );
    } finally {
      await conn.end();
    }
    const db = new Database(join(dir, 'reports', job, 'jobs.db'), { readonly: true });
    try {
      const q = (sql: string): Row[] => db.prepare(sql).all(job) as Row[];
      check(
        q('SELECT * FROM jobs_windows WHERE run_id = ?'),
        q('SELECT * FROM jobs_steps WHERE run_id = ?'),
        'sqlite',
      );
    } finally {
      db.close();
    }
  });
});
