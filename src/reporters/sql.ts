// SQL reporters: PostgreSQL (pg; TimescaleDB-compatible: the windows table has a NOT NULL
// `time` column and no unique key, and becomes a hypertable when the extension is installed),
// MySQL/MariaDB (mysql2) and SQLite (better-sqlite3 12: 13 needs Node 22). One schema, one row
// builder; a small dialect per database says how to create tables and insert rows. The `dc`
// column holds a cluster job's datacenter (`*` for the whole job) and is NULL for a local run;
// tables made before a column existed get it added (nullable columns only).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunResults } from '../stats/types.js';
import { ReporterConfigError } from './errors.js';
import type { BreakdownGroup, Reporter, ReportWindow } from './types.js';
import { recordHandled } from '../handled-errors.js';

type Value = string | number | null;
type ColumnType = 'time' | 'text' | 'int' | 'float' | 'json';

interface Table {
  name: string;
  columns: readonly (readonly [string, ColumnType, 'null'?])[];
}

export function tables(prefix: string): Record<'windows' | 'steps' | 'runs' | 'thresholds', Table> {
  return {
    windows: {
      name: `${prefix}_windows`,
      columns: [
        ['time', 'time'],
        ['run_id', 'text'],
        ['workflow', 'text'],
        ['step', 'text'],
        ['count', 'int'],
        ['failed', 'int'],
        ['rps', 'float', 'null'],
        ['vus', 'int', 'null'],
        ['p50_ms', 'float', 'null'],
        ['p90_ms', 'float', 'null'],
        ['p99_ms', 'float', 'null'],
        ['max_ms', 'float', 'null'],
        ['dc', 'text', 'null'],
      ],
    },
    steps: {
      name: `${prefix}_steps`,
      columns: [
        ['run_id', 'text'],
        ['workflow', 'text'],
        ['step', 'text'],
        ['count', 'int'],
        ['ok', 'int'],
        ['failed', 'int'],
        ['rps', 'float'],
        ['min_ms', 'float'],
        ['mean_ms', 'float'],
        ['p50_ms', 'float'],
        ['p90_ms', 'float'],
        ['p95_ms', 'float'],
        ['p99_ms', 'float'],
        ['max_ms', 'float'],
        ['dc', 'text', 'null'],
      ],
    },
    runs: {
      name: `${prefix}_runs`,
      columns: [
        ['run_id', 'text'],
        ['file', 'text'],
        ['started_at', 'time'],
        ['ended_at', 'time'],
        ['status', 'text'],
        ['exit_code', 'int'],
        ['thresholds_passed', 'int'],
        ['thresholds_failed', 'int'],
        ['results', 'json'],
      ],
    },
    thresholds: {
      name: `${prefix}_thresholds`,
      columns: [
        ['run_id', 'text'],
        ['workflow', 'text'],
        ['target', 'text'],
        ['expression', 'text'],
        ['actual', 'float', 'null'],
        ['unit', 'text'],
        ['passed', 'int'],
      ],
    },
  };
}

/**
 * Rows of the windows table: one per workflow (step '*') and one per step, with the window's
 * `dc` label (a cluster job's DC, `*` for the whole job; NULL for a local run).
 */
export function windowRows(runId: string, w: ReportWindow): Value[][] {
  const rows: Value[][] = [];
  const time = new Date(w.atMs).toISOString();
  const dc = w.labels['dc'] ?? null;
  for (const wf of w.workflows) {
    rows.push([
      time,
      runId,
      wf.name,
      '*',
      wf.count,
      wf.failed,
      wf.rps,
      wf.vus,
      null,
      null,
      null,
      null,
      dc,
    ]);
    for (const s of wf.steps) {
      rows.push([
        time,
        runId,
        wf.name,
        s.name,
        s.count,
        s.failed,
        null,
        null,
        s.p50Ms,
        s.p90Ms,
        s.p99Ms,
        s.maxMs,
        dc,
      ]);
    }
  }
  return rows;
}

/** Steps rows of one result, each with `dc`. */
function stepRows(id: string, results: RunResults, dc: string | null): Value[][] {
  return results.workflows.flatMap((wf) =>
    wf.steps.map((s) => {
      const l = s.latencyMs;
      return [
        id,
        wf.name,
        s.name,
        s.count,
        s.ok,
        s.failed,
        s.rps,
        l.min,
        l.mean,
        l.p50,
        l.p90,
        l.p95,
        l.p99,
        l.max,
        dc,
      ];
    }),
  );
}

/**
 * Rows of the final tables. A cluster job's steps rows come once for the whole job (`dc` = `*`)
 * and once per datacenter of `breakdown`; a local run's have `dc` NULL.
 */
export function finalRows(
  results: RunResults,
  breakdown: readonly BreakdownGroup[] = [],
): {
  steps: Value[][];
  runs: Value[][];
  thresholds: Value[][];
} {
  const id = results.run.id;
  const steps = stepRows(id, results, results.distributed === undefined ? null : '*');
  for (const group of breakdown) {
    const dc = group.labels['dc'];
    if (dc !== undefined) steps.push(...stepRows(id, group.results, dc));
  }
  const thresholds: Value[][] = [];
  for (const wf of results.workflows) {
    for (const t of wf.thresholds) {
      thresholds.push([id, wf.name, t.target, t.expression, t.actual, t.unit, t.passed ? 1 : 0]);
    }
  }
  const r = results.run;
  const runs: Value[][] = [
    [
      id,
      r.file,
      r.startedAt,
      r.endedAt,
      r.status,
      r.exitCode,
      results.thresholds.passed,
      results.thresholds.failed,
      JSON.stringify(results),
    ],
  ];
  return { steps, runs, thresholds };
}

/** How one database creates tables and inserts rows. */
export interface SqlDialect {
  readonly name: string;
  columnType(type: ColumnType): string;
  /** Converts an ISO time string to what the driver binds for a time column. */
  time(iso: string): Value | Date;
  connect(): Promise<void>;
  exec(sql: string): Promise<void>;
  insert(
    table: string,
    columns: readonly string[],
    rows: readonly (Value | Date)[][],
  ): Promise<void>;
  /** The names of `table`'s columns (lower case), to add the ones an older table lacks. */
  columns(table: string): Promise<string[]>;
  /** After the tables exist (TimescaleDB: make the windows table a hypertable). */
  afterCreate?(windowsTable: string): Promise<void>;
  close(): Promise<void>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

export function sqlReporter(
  name: string,
  makeDialect: () => Promise<SqlDialect>,
  prefix = 'salvo',
): Reporter {
  if (!IDENT.test(prefix)) {
    throw new ReporterConfigError(
      `reporter '${name}': option 'table' must be letters, digits and '_' (at most 41), got '${prefix}'`,
    );
  }
  const t = tables(prefix);
  let runId = '';
  let made: SqlDialect | undefined;
  const d = (): SqlDialect => {
    if (!made) throw new ReporterConfigError(`reporter '${name}': not started`);
    return made;
  };
  const bind = (table: Table, rows: Value[][]): (Value | Date)[][] =>
    rows.map((row) =>
      row.map((v, i) =>
        table.columns[i]?.[1] === 'time' && typeof v === 'string' ? d().time(v) : v,
      ),
    );
  const insert = (table: Table, rows: Value[][]): Promise<void> =>
    rows.length === 0
      ? Promise.resolve()
      : d().insert(
          table.name,
          table.columns.map((c) => c[0]),
          bind(table, rows),
        );
  return {
    name,
    async start(start) {
      runId = start.runId;
      made ??= await makeDialect();
      const dialect = made;
      await dialect.connect();
      for (const table of Object.values(t)) {
        const cols = table.columns
          .map(
            ([name, type, nullable]) =>
              `${name} ${dialect.columnType(type)}${nullable ? '' : ' NOT NULL'}`,
          )
          .join(', ');
        await dialect.exec(`CREATE TABLE IF NOT EXISTS ${table.name} (${cols})`);
        await addMissingColumns(dialect, table);
      }
      await dialect.afterCreate?.(t.windows.name);
    },
    async windows(batch) {
      // A cluster job's whole-job windows (`dc` = `*`) and each DC's: sum one or the other.
      await insert(
        t.windows,
        batch.flatMap((w) => windowRows(runId, w)),
      );
    },
    async final(r) {
      const rows = finalRows(r.results, r.breakdown);
      await insert(t.steps, rows.steps);
      await insert(t.thresholds, rows.thresholds);
      await insert(t.runs, rows.runs);
    },
    close: () => made?.close(),
  };
}

/**
 * Adds the columns a table made by an older version lacks. Only nullable ones can be added
 * (the rows already there get NULL); a missing NOT NULL column is a table this cannot use.
 */
async function addMissingColumns(dialect: SqlDialect, table: Table): Promise<void> {
  const have = new Set(await dialect.columns(table.name));
  for (const [name, type, nullable] of table.columns) {
    if (have.has(name)) continue;
    if (nullable !== 'null') {
      throw new ReporterConfigError(
        `${dialect.name}: table ${table.name} has no column ${name}; it was made for another schema (use another table prefix with option 'table')`,
      );
    }
    await dialect.exec(`ALTER TABLE ${table.name} ADD COLUMN ${name} ${dialect.columnType(type)}`);
  }
}

export async function postgresDialect(url: string): Promise<SqlDialect> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  let connected = false;
  client.on('error', (error: unknown) => {
    recordHandled('sql reporter: connection error (the next query reports it)', error);
  });
  return {
    name: 'postgres',
    columnType: (type) =>
      ({
        time: 'TIMESTAMPTZ',
        text: 'TEXT',
        int: 'BIGINT',
        float: 'DOUBLE PRECISION',
        json: 'JSONB',
      })[type],
    time: (iso) => iso,
    async connect() {
      if (connected) return;
      await client.connect();
      connected = true;
    },
    exec: async (sql) => void (await client.query(sql)),
    async columns(table) {
      const r = await client.query<{ name: string }>(
        `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
        [table],
      );
      return r.rows.map((row) => row.name.toLowerCase());
    },
    async insert(table, columns, rows) {
      const params: unknown[] = [];
      const values = rows.map(
        (row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`,
      );
      await client.query(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')}`,
        params,
      );
    },
    async afterCreate(windowsTable) {
      const ext = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`);
      if (ext.rowCount) {
        await client.query(
          `SELECT create_hypertable('${windowsTable}', 'time', if_not_exists => TRUE)`,
        );
      }
    },
    close: async () => {
      if (connected) await client.end();
    },
  };
}

export async function mysqlDialect(url: string): Promise<SqlDialect> {
  const mysql = await import('mysql2/promise');
  let conn: Awaited<ReturnType<typeof mysql.createConnection>> | undefined;
  return {
    name: 'mysql',
    columnType: (type) =>
      ({
        time: 'DATETIME(3)',
        text: 'VARCHAR(255)',
        int: 'BIGINT',
        float: 'DOUBLE',
        json: 'LONGTEXT',
      })[type],
    time: (iso) => new Date(iso),
    async connect() {
      conn ??= await mysql.createConnection({ uri: url, connectTimeout: 3000, timezone: 'Z' });
    },
    async exec(sql) {
      if (!conn) throw new ReporterConfigError('mysql: not connected');
      await conn.query(sql);
    },
    async columns(table) {
      if (!conn) throw new ReporterConfigError('mysql: not connected');
      const [rows] = await conn.query(
        'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
        [table],
      );
      return (rows as { name: string }[]).map((row) => row.name.toLowerCase());
    },
    async insert(table, columns, rows) {
      if (!conn) throw new ReporterConfigError('mysql: not connected');
      await conn.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ?`, [rows]);
    },
    async close() {
      const c = conn;
      conn = undefined;
      await c?.end();
    },
  };
}

export async function sqliteDialect(path: string): Promise<SqlDialect> {
  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database> | undefined;
  const open = (): InstanceType<typeof Database> => {
    if (!db) throw new ReporterConfigError('sqlite: not open');
    return db;
  };
  return {
    name: 'sqlite',
    columnType: (type) =>
      ({ time: 'TEXT', text: 'TEXT', int: 'INTEGER', float: 'REAL', json: 'TEXT' })[type],
    time: (iso) => iso,
    connect() {
      if (!db) {
        if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
        db = new Database(path);
        db.pragma('journal_mode = WAL');
      }
      return Promise.resolve();
    },
    exec(sql) {
      open().exec(sql);
      return Promise.resolve();
    },
    columns(table) {
      const info = open().pragma(`table_info(${table})`) as { name: string }[];
      return Promise.resolve(info.map((c) => c.name.toLowerCase()));
    },
    insert(table, columns, rows) {
      const d = open();
      const stmt = d.prepare(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
      d.transaction(() => {
        for (const row of rows) stmt.run(...row);
      })();
      return Promise.resolve();
    },
    close() {
      db?.close();
      db = undefined;
      return Promise.resolve();
    },
  };
}
