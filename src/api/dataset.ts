// `dataset(path)`: rows of a CSV (header line → objects) or JSON (an array) file, loaded once
// per thread when the workflow file is imported and shared read-only (frozen) by every VU of
// that thread; iteration helpers pick rows sequentially per VU, at random, or one unique row
// per VU (VU ids are unique across threads). CSV is parsed by csv-parse (RFC 4180).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { WorkflowConfigError } from '../errors.js';
import type { VuInfo } from './workflow.js';

/** Largest data file read (bounded memory per thread). */
export const MAX_DATASET_BYTES = 256 * 1024 * 1024;
const loaded = new Map<string, readonly unknown[]>();

export interface DatasetOptions {
  /** Default: from the extension (.csv, else JSON). */
  format?: 'csv' | 'json';
}

export class Dataset<T> {
  /** @internal use dataset(). */
  constructor(
    readonly path: string,
    readonly rows: readonly T[],
  ) {}

  get length(): number {
    return this.rows.length;
  }

  /** Row `i` (wrapping around). */
  at(i: number): T {
    return this.rows[((i % this.rows.length) + this.rows.length) % this.rows.length] as T;
  }

  /** The VU's next row: row `iteration mod length` (each VU walks the whole set). */
  sequential(vu: VuInfo): T {
    return this.at(vu.iteration);
  }

  /** A row chosen at random. */
  random(): T {
    return this.at(Math.floor(Math.random() * this.rows.length));
  }

  /**
   * A row no other VU of the run gets (row `vu.id - 1`); a VU beyond the set's length fails
   * the step with a WorkflowConfigError saying how many rows there are.
   */
  unique(vu: VuInfo): T {
    if (vu.id > this.rows.length) {
      throw new WorkflowConfigError(
        `dataset ${this.path} has ${this.rows.length} rows; VU ${vu.id} has no unique row (use fewer VUs or more rows)`,
      );
    }
    return this.rows[vu.id - 1] as T;
  }
}

function load(path: string, format: 'csv' | 'json'): readonly unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new WorkflowConfigError(
      `dataset ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (text.length > MAX_DATASET_BYTES) {
    throw new WorkflowConfigError(`dataset ${path}: larger than ${MAX_DATASET_BYTES} bytes`);
  }
  let rows: unknown;
  try {
    rows =
      format === 'csv'
        ? (
            createRequire(import.meta.url)('csv-parse/sync') as typeof import('csv-parse/sync')
          ).parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true })
        : JSON.parse(text);
  } catch (error) {
    throw new WorkflowConfigError(
      `dataset ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new WorkflowConfigError(
      `dataset ${path}: expected a non-empty ${format === 'csv' ? 'CSV with a header line' : 'JSON array'}`,
    );
  }
  for (const row of rows) if (typeof row === 'object' && row !== null) Object.freeze(row);
  return Object.freeze(rows);
}

/**
 * @example
 * const users = dataset<{ user: string; password: string }>('data/users.csv');
 * workflow('login').step('login', ({ http, vu }) => http.post('/login', { form: users.unique(vu) }));
 */
export function dataset<T = Record<string, string>>(
  path: string,
  options: DatasetOptions = {},
): Dataset<T> {
  const absolute = resolve(path);
  const format = options.format ?? (absolute.toLowerCase().endsWith('.csv') ? 'csv' : 'json');
  let rows = loaded.get(`${format}:${absolute}`);
  if (rows === undefined) {
    rows = load(absolute, format);
    loaded.set(`${format}:${absolute}`, rows);
  }
  return new Dataset<T>(path, rows as readonly T[]);
}
