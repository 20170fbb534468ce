// Text formatting shared by the terminal views: numbers, durations, latencies, ANSI colour,
// visible width and a width-aware table. Written by hand (no chalk/string-width) to stay dependency-free.

// ─── ANSI and visible width ───

const ESC = '\u001b';
/* eslint-disable no-control-regex -- recognising terminal control characters is this code's job */
/** CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`) and two-byte escapes. */
const ANSI_SOURCE = '\u001b(?:\\[[0-?]*[ -/]*[@-~]|\\][^\u0007\u001b]*(?:\u0007|\u001b\\\\)|[@-~])';
const ANSI_PATTERN = new RegExp(ANSI_SOURCE, 'g');
const ANSI_AT_START = new RegExp(`^${ANSI_SOURCE}`);
/** C0/C1 control characters that would break a line's layout (run after stripping ANSI). */
const CONTROL_PATTERN = /[\u0000-\u001f\u007f-\u009f]/g;
/* eslint-enable no-control-regex */
const RESET = `${ESC}[0m`;
export const ELLIPSIS = '…';

/** Removes ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, '');
}

/**
 * Makes text from outside (file, workflow, step names, error messages) safe for one line:
 * no escape sequences, no control characters, newlines and tabs become spaces.
 */
export function sanitize(text: string): string {
  return stripAnsi(text)
    .replace(/[\t\n\r]+/g, ' ')
    .replace(CONTROL_PATTERN, '');
}

/** Terminal columns one code point takes: 0 for combining marks, 2 for wide East Asian and emoji. */
export function charWidth(codePoint: number): number {
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return 0;
  if (
    (codePoint >= 0x0300 && codePoint <= 0x036f) ||
    (codePoint >= 0x200b && codePoint <= 0x200f) ||
    (codePoint >= 0x20d0 && codePoint <= 0x20ff) ||
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f)
  ) {
    return 0;
  }
  if (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf && codePoint !== 0x303f) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1f64f) ||
    (codePoint >= 0x1f900 && codePoint <= 0x1f9ff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns the text takes on a terminal, ignoring ANSI escape sequences. */
export function visibleWidth(text: string): number {
  let width = 0;
  for (const char of stripAnsi(text)) width += charWidth(char.codePointAt(0) ?? 0);
  return width;
}

/**
 * Cuts text to at most `width` columns, ending with "…" when something was cut. Escape
 * sequences are kept (they take no room) and a reset is appended if any were present.
 */
export function truncate(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  if (width <= 0) return '';
  const budget = width - 1;
  let out = '';
  let used = 0;
  let sawAnsi = false;
  let rest = text;
  while (rest.length > 0) {
    const escape = ANSI_AT_START.exec(rest);
    if (escape) {
      out += escape[0];
      sawAnsi = true;
      rest = rest.slice(escape[0].length);
      continue;
    }
    const codePoint = rest.codePointAt(0) ?? 0;
    const char = String.fromCodePoint(codePoint);
    const charCols = charWidth(codePoint);
    if (used + charCols > budget) break;
    out += char;
    used += charCols;
    rest = rest.slice(char.length);
  }
  return `${out}${ELLIPSIS}${sawAnsi ? RESET : ''}`;
}

/** Truncates then pads with spaces to exactly `width` columns. */
export function fit(text: string, width: number, align: Align = 'left'): string {
  const cut = truncate(text, width);
  const room = Math.max(0, width - visibleWidth(cut));
  return align === 'right' ? ' '.repeat(room) + cut : cut + ' '.repeat(room);
}

// ─── Colour ───

export type Paint = (text: string) => string;

export interface Style {
  readonly enabled: boolean;
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
  gray: Paint;
}

const SGR = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  gray: [90, 39],
} as const;

function sgr(open: number, close: number): Paint {
  return (text) => (text === '' ? '' : `${ESC}[${open}m${text}${ESC}[${close}m`);
}

const identity: Paint = (text) => text;

/** Colour helpers; every one is the identity when `enabled` is false. */
export function createStyle(enabled: boolean): Style {
  if (!enabled) {
    return {
      enabled,
      bold: identity,
      dim: identity,
      red: identity,
      green: identity,
      yellow: identity,
      cyan: identity,
      gray: identity,
    };
  }
  return {
    enabled,
    bold: sgr(...SGR.bold),
    dim: sgr(...SGR.dim),
    red: sgr(...SGR.red),
    green: sgr(...SGR.green),
    yellow: sgr(...SGR.yellow),
    cyan: sgr(...SGR.cyan),
    gray: sgr(...SGR.gray),
  };
}

/**
 * The colour policy: `NO_COLOR` (set and non-empty, see no-color.org) always turns colour off;
 * otherwise an explicit `color` option wins; otherwise colour is on for a TTY whose TERM is not "dumb".
 */
export function resolveColor(opts: {
  color?: boolean | undefined;
  stream?: { isTTY?: boolean } | undefined;
  env?: Record<string, string | undefined>;
}): boolean {
  const env = opts.env ?? process.env;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (opts.color !== undefined) return opts.color;
  return opts.stream?.isTTY === true && env['TERM'] !== 'dumb';
}

// ─── Numbers ───

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const SECONDS_PER_MINUTE = 60;
const MINUTES_PER_HOUR = 60;
const SHORT_SECONDS_LIMIT = 10;
const COMPACT_THRESHOLD = 10_000;
const COMPACT_UNITS = [
  { value: 1e12, suffix: 'T' },
  { value: 1e9, suffix: 'B' },
  { value: 1e6, suffix: 'M' },
  { value: 1e3, suffix: 'k' },
] as const;
const ONE_DECIMAL_LIMIT = 100;
export const NO_VALUE = '—';

function groupDigits(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function finiteOr(value: number, fallback: number): number {
  return Number.isFinite(value) ? value : fallback;
}

/** A number with 1 decimal below 100 and none above: "1.2", "12.3", "123". */
function shortNumber(value: number): string {
  return value < ONE_DECIMAL_LIMIT ? value.toFixed(1).replace(/\.0$/, '') : value.toFixed(0);
}

/** Compact count: "999", "12.3k", "1.2M", "123M". Values under 10,000 stay exact and grouped. */
export function formatCompact(n: number): string {
  if (!Number.isFinite(n)) return NO_VALUE;
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs < COMPACT_THRESHOLD) return sign + groupDigits(Math.round(abs).toString());
  for (let i = 0; i < COMPACT_UNITS.length; i++) {
    const unit = COMPACT_UNITS[i];
    if (unit === undefined || abs < unit.value) continue;
    const scaled = abs / unit.value;
    const text = shortNumber(scaled);
    // 999,950 rounds to "1000k": promote to the next unit instead.
    const bigger = COMPACT_UNITS[i - 1];
    if (Number(text) >= 1000 && bigger !== undefined) {
      return `${sign}${shortNumber(abs / bigger.value)}${bigger.suffix}`;
    }
    return `${sign}${text}${unit.suffix}`;
  }
  return sign + groupDigits(Math.round(abs).toString());
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A byte count in binary units: "512 B", "1.5 KiB", "42 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return NO_VALUE;
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text =
    unit === 0
      ? String(Math.round(value))
      : value < 10
        ? value.toFixed(1)
        : String(Math.round(value));
  return `${text} ${BYTE_UNITS[unit]}`;
}

/** A count with thousands separators ("12,345"), or compact ("1.2M") when asked. */
export function formatCount(n: number, opts: { compact?: boolean } = {}): string {
  if (!Number.isFinite(n)) return NO_VALUE;
  if (opts.compact === true) return formatCompact(n);
  const rounded = Math.round(n);
  const sign = rounded < 0 ? '-' : '';
  return sign + groupDigits(Math.abs(rounded).toString());
}

/** A per-second rate: "1,234/s", "12/s", "2.5/s", "0/s"; `unit` goes before "/s" ("req" → "5 req/s"). */
export function formatRate(
  perSecond: number,
  opts: { unit?: string; compact?: boolean } = {},
): string {
  const value = Math.max(0, finiteOr(perSecond, 0));
  const suffix = opts.unit !== undefined && opts.unit !== '' ? ` ${opts.unit}/s` : '/s';
  let number: string;
  if (value === 0) number = '0';
  else if (value < SHORT_SECONDS_LIMIT) number = value.toFixed(1).replace(/\.0$/, '');
  else number = formatCount(value, { compact: opts.compact === true });
  return number + suffix;
}

/** A fraction as a percentage: 0.0123 → "1.23%". Non-finite → "—". */
export function formatPercent(fraction: number, digits = 2): string {
  if (!Number.isFinite(fraction)) return NO_VALUE;
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** part / whole, or 0 when the whole is 0. */
export function ratio(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/** A human duration: "950ms", "4.2s", "42s", "1m05s", "2h03m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return NO_VALUE;
  const value = Math.max(0, ms);
  if (Math.round(value) < MS_PER_SECOND) return `${Math.round(value)}ms`;
  if (value < SHORT_SECONDS_LIMIT * MS_PER_SECOND) {
    const seconds = (value / MS_PER_SECOND).toFixed(1).replace(/\.0$/, '');
    // 9.96s rounds up to "10.0": fall through to whole seconds.
    if (Number(seconds) < SHORT_SECONDS_LIMIT) return `${seconds}s`;
  }
  const totalSeconds = Math.round(value / MS_PER_SECOND);
  if (totalSeconds < SECONDS_PER_MINUTE) return `${totalSeconds}s`;
  if (totalSeconds < SECONDS_PER_MINUTE * MINUTES_PER_HOUR) {
    const minutes = Math.floor(totalSeconds / SECONDS_PER_MINUTE);
    const seconds = totalSeconds % SECONDS_PER_MINUTE;
    return `${minutes}m${seconds.toString().padStart(2, '0')}s`;
  }
  const totalMinutes = Math.round(value / MS_PER_MINUTE);
  const hours = Math.floor(totalMinutes / MINUTES_PER_HOUR);
  const minutes = totalMinutes % MINUTES_PER_HOUR;
  return `${hours}h${minutes.toString().padStart(2, '0')}m`;
}

/** A clock reading for elapsed time: "00:12", "05:03", "1:02:03" (whole seconds, floored). */
export function formatClock(ms: number): string {
  const totalSeconds = Math.floor(Math.max(0, finiteOr(ms, 0)) / MS_PER_SECOND);
  const hours = Math.floor(totalSeconds / (SECONDS_PER_MINUTE * MINUTES_PER_HOUR));
  const minutes = Math.floor(totalSeconds / SECONDS_PER_MINUTE) % MINUTES_PER_HOUR;
  const seconds = totalSeconds % SECONDS_PER_MINUTE;
  const mmss = `${minutes.toString().padStart(2, '0')}:${seconds.toString().padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

/** Bounds below which a value keeps 2 / 1 decimals without rounding up into the next range. */
const LATENCY_TWO_DECIMALS = 9.995;
const LATENCY_ONE_DECIMAL = 99.95;
const LATENCY_SMALLEST = 0.01;
const TEN = 10;

/** A latency with three significant digits: "0.84ms", "3.10ms", "12.3ms", "123ms", "1.24s"; null → "—". */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return NO_VALUE;
  const value = Math.max(0, ms);
  if (value > 0 && value < LATENCY_SMALLEST) return `<${LATENCY_SMALLEST}ms`;
  if (value < LATENCY_TWO_DECIMALS) return `${value.toFixed(2)}ms`;
  if (value < LATENCY_ONE_DECIMAL) return `${value.toFixed(1)}ms`;
  if (value < MS_PER_SECOND - 0.5) return `${value.toFixed(0)}ms`;
  const seconds = value / MS_PER_SECOND;
  if (seconds < LATENCY_TWO_DECIMALS) return `${seconds.toFixed(2)}s`;
  if (seconds < LATENCY_ONE_DECIMAL) return `${seconds.toFixed(1)}s`;
  return formatDuration(value);
}

/** A plain measurement with up to three significant digits and grouping: "0.123", "12.3", "1,234". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return NO_VALUE;
  const abs = Math.abs(value);
  if (abs >= ONE_DECIMAL_LIMIT || Number.isInteger(value)) return formatCount(value);
  if (abs >= TEN) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value
    .toPrecision(3)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

// ─── Table ───

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  /** Default "left". */
  align?: Align;
  /** Flexible columns shrink first when the table is too wide. Default: true for left-aligned. */
  flex?: boolean;
  /** The narrowest the column may get before the whole line is cut. Default: min(natural, 4). */
  minWidth?: number;
  /**
   * Makes the column optional: when flexible columns are at their minimum and the table is still
   * too wide, optional columns are left out, lowest `dropOrder` first, before others are cut.
   */
  dropOrder?: number;
}

export interface TableOptions {
  /** The terminal width every line must fit in. */
  width: number;
  /** Spaces between columns (default 2). */
  gap?: number;
  /** Spaces before each line (default 0). */
  indent?: number;
  /** Applied to the header line after layout (e.g. bold or dim). */
  headerStyle?: Paint;
}

const DEFAULT_GAP = 2;
const DEFAULT_MIN_COLUMN = 4;

function shrink(widths: number[], mins: number[], candidates: number[], excess: number): number {
  let left = excess;
  while (left > 0) {
    let widest = -1;
    for (const i of candidates) {
      const w = widths[i] ?? 0;
      if (w > (mins[i] ?? 0) && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
    }
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
    left--;
  }
  return left;
}

/**
 * Lays rows out in aligned columns (first line: headers) that fit `width`: flexible columns
 * shrink first (widest first) down to their minimum, then optional columns are left out, then the
 * others shrink down to their minimum, cells cut with "…"; a line still too wide is cut at the
 * end. Cells may carry ANSI colour.
 */
export function table(
  rows: readonly (readonly string[])[],
  columns: readonly Column[],
  opts: TableOptions,
): string[] {
  const gap = opts.gap ?? DEFAULT_GAP;
  const indent = ' '.repeat(Math.max(0, opts.indent ?? 0));
  const widths = columns.map((column, i) =>
    Math.max(visibleWidth(column.header), ...rows.map((row) => visibleWidth(row[i] ?? ''))),
  );
  const natural = [...widths];
  const mins = columns.map((column, i) =>
    Math.min(widths[i] ?? 0, column.minWidth ?? DEFAULT_MIN_COLUMN),
  );
  const kept = columns.map(() => true);
  const isFlex = (column: Column): boolean => column.flex ?? (column.align ?? 'left') === 'left';
  const totalWidth = (): number => {
    const shown = widths.filter((_, i) => kept[i] === true);
    return (
      indent.length + shown.reduce((sum, w) => sum + w, 0) + gap * Math.max(0, shown.length - 1)
    );
  };
  let excess = totalWidth() - opts.width;
  if (excess > 0) {
    const flex = columns.flatMap((column, i) => (isFlex(column) ? [i] : []));
    excess = shrink(widths, mins, flex, excess);
  }
  const optional = columns
    .flatMap((column, i) =>
      column.dropOrder === undefined ? [] : [{ i, order: column.dropOrder }],
    )
    .sort((a, b) => a.order - b.order);
  let dropped = false;
  for (const { i } of optional) {
    if (excess <= 0) break;
    kept[i] = false;
    dropped = true;
    excess = totalWidth() - opts.width;
  }
  if (dropped && excess < 0) {
    // Dropping a column can free more room than needed: give it back to the flexible columns.
    let spare = -excess;
    columns.forEach((column, i) => {
      if (!isFlex(column) || kept[i] !== true) return;
      const grow = Math.min(spare, (natural[i] ?? 0) - (widths[i] ?? 0));
      widths[i] = (widths[i] ?? 0) + grow;
      spare -= grow;
    });
    excess = -spare;
  }
  if (excess > 0) {
    const rigid = columns.flatMap((column, i) => (isFlex(column) || kept[i] !== true ? [] : [i]));
    shrink(widths, mins, rigid, excess);
  }
  const renderRow = (cells: readonly string[]): string => {
    const parts = columns.flatMap((column, i) =>
      kept[i] === true ? [fit(cells[i] ?? '', widths[i] ?? 0, column.align)] : [],
    );
    return truncate((indent + parts.join(' '.repeat(gap))).trimEnd(), opts.width);
  };
  const header = renderRow(columns.map((column) => column.header));
  return [
    opts.headerStyle ? opts.headerStyle(header) : header,
    ...rows.map((row) => renderRow(row)),
  ];
}

// ─── Lines ───

const FIELD_GAP = '   ';

/**
 * Packs fields into as few lines as fit `width`, separated by `gap`, each line indented.
 * A field wider than a whole line is cut.
 */
export function flow(
  fields: readonly string[],
  width: number,
  indent = 0,
  gap = FIELD_GAP,
): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let current = '';
  for (const field of fields) {
    if (field === '') continue;
    const candidate = current === '' ? field : current + gap + field;
    if (current !== '' && indent + visibleWidth(candidate) > width) {
      lines.push(pad + current);
      current = field;
    } else {
      current = candidate;
    }
  }
  if (current !== '') lines.push(pad + current);
  return lines.map((line) => truncate(line, width));
}

/**
 * Word-wraps prose to `width` columns, every line starting with `indent` spaces; a word longer
 * than a line is cut with "…". Meant for plain text: apply colour to the returned lines.
 */
export function wrap(text: string, width: number, indent = 0): string[] {
  return flow(text.split(/\s+/), width, indent, ' ');
}

/** Cuts every line to `width` columns. */
export function fitLines(lines: readonly string[], width: number): string[] {
  return lines.map((line) => truncate(line, width));
}
