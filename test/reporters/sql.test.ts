// SQL reporters against real servers: PostgreSQL and MariaDB started by the test, SQLite in a
// temp file. One `salvo run --report postgres:… --report mysql:… --report sqlite:…`; the rows
// read back must match the results JSON.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import type { RunResults } from '../../src/stats/types.js';
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

function checkRows(stepRows: Row[], windowRows: Row[], runRows: Row[], thresholdRows: Row[]): void {
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
});
