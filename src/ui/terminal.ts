// The imperative shell of the terminal UI: LiveTerminal redraws the live screen in place on a TTY,
// ProgressPrinter prints a progress line now and then elsewhere; createProgressView picks one.

import { resolveColor, visibleWidth } from './format.js';
import { renderLive } from './live.js';
import { renderProgressLine } from './progress.js';
import type { LiveSnapshot } from './snapshot.js';

/** What the run command drives, whatever the output is. */
export interface ProgressView {
  /** Starts reporting; `getSnapshot` is called on every refresh and must be cheap. */
  start(getSnapshot: () => LiveSnapshot): void;
  /** Stops reporting, after showing `finalSnapshot` if given. Safe to call more than once. */
  stop(finalSnapshot?: LiveSnapshot): void;
}

/** Calls `tick` every `intervalMs` until the returned function is called. Injected by tests. */
export type Ticker = (intervalMs: number, tick: () => void) => () => void;

/** The real ticker: an unref'd interval, so the view never keeps the process alive. */
export const intervalTicker: Ticker = (intervalMs, tick) => {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

/** The part of a tty.WriteStream the live view uses (a fake in tests). */
export interface TerminalStream {
  write(chunk: string): boolean;
  columns?: number;
  rows?: number;
  isTTY?: boolean;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

/** Where the first rendering error goes; by default a process warning on stderr. */
export type ErrorReporter = (error: unknown) => void;

const defaultReporter: ErrorReporter = (error) => {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`salvo: the progress view failed to render and keeps trying: ${message}`, {
    code: 'SALVO_UI_RENDER',
  });
};

/** Counts failures of a view's background work and reports the first one, never throwing. */
class FailureCounter {
  count = 0;
  constructor(private readonly report: ErrorReporter) {}

  record(error: unknown): void {
    this.count++;
    if (this.count !== 1) return;
    try {
      this.report(error);
    } catch (reportError) {
      defaultReporter(reportError);
    }
  }
}

const ESC = '\u001b';
const HIDE_CURSOR = `${ESC}[?25l`;
const SHOW_CURSOR = `${ESC}[?25h`;
const ERASE_LINE = `${ESC}[2K`;
const ERASE_BELOW = `${ESC}[J`;
/** DEC mode 2026: terminals that know it paint the frame at once; others ignore it. */
const SYNC_START = `${ESC}[?2026h`;
const SYNC_END = `${ESC}[?2026l`;
const cursorUp = (rows: number): string => `\r${ESC}[${rows}A`;

export const DEFAULT_REFRESH_MS = 500;
const MIN_REFRESH_MS = 50;
const MAX_REFRESH_MS = 1000;
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;
/** Rows kept free under the frame so the cursor line never scrolls the frame's top away. */
const RESERVED_ROWS = 1;
const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface LiveTerminalOptions {
  /** How often to redraw, clamped to 50…1000 ms. Default 500. */
  refreshMs?: number;
  /** Colour on or off; by default resolved from NO_COLOR and the stream (see resolveColor). */
  color?: boolean;
  /** Gets the first rendering error (later ones are only counted, see `errorCount`). */
  onError?: ErrorReporter;
  ticker?: Ticker;
}

function clampRefresh(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms)) return DEFAULT_REFRESH_MS;
  return Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, ms));
}

/**
 * Redraws the live screen in place on a TTY: each frame moves the cursor up over the previous
 * one, rewrites every line (erasing what was there) and erases whatever is left below. The cursor
 * is hidden while live and shown again on stop, on process exit, and on SIGINT/SIGTERM when no
 * one else handles them. Frames fit the terminal (re-read on 'resize'); a redraw after a resize
 * assumes the terminal re-wrapped the old frame to the new width, as most modern terminals do.
 * Rendering happens on the ticker only, so at most once per refresh; failures are counted and
 * the first is reported, never thrown out of the timer.
 */
export class LiveTerminal implements ProgressView {
  private readonly refreshMs: number;
  private readonly color: boolean;
  private readonly failures: FailureCounter;
  private readonly ticker: Ticker;
  private getSnapshot: (() => LiveSnapshot) | null = null;
  private cancelTicker: (() => void) | null = null;
  private columns: number;
  private rows: number;
  /** The lines of the frame on screen, to know how far up the next frame starts. */
  private previous: string[] = [];
  private previousColumns: number;
  private dirty = false;
  private cursorHidden = false;

  constructor(
    private readonly stream: TerminalStream,
    opts: LiveTerminalOptions = {},
  ) {
    this.refreshMs = clampRefresh(opts.refreshMs);
    this.color = resolveColor({ color: opts.color, stream });
    this.failures = new FailureCounter(opts.onError ?? defaultReporter);
    this.ticker = opts.ticker ?? intervalTicker;
    this.columns = stream.columns ?? DEFAULT_COLUMNS;
    this.rows = stream.rows ?? DEFAULT_ROWS;
    this.previousColumns = this.columns;
  }

  /** Rendering failures so far (the first was passed to onError). */
  get errorCount(): number {
    return this.failures.count;
  }

  get intervalMs(): number {
    return this.refreshMs;
  }

  start(getSnapshot: () => LiveSnapshot): void {
    this.getSnapshot = getSnapshot;
    if (this.cancelTicker !== null) return;
    this.previous = [];
    this.readSize();
    this.stream.on('resize', this.onResize);
    process.on('exit', this.onExit);
    for (const signal of EXIT_SIGNALS) process.on(signal, this.onSignal);
    this.guarded(() => {
      this.stream.write(HIDE_CURSOR);
      this.cursorHidden = true;
    });
    this.tick();
    this.cancelTicker = this.ticker(this.refreshMs, this.tick);
  }

  stop(finalSnapshot?: LiveSnapshot): void {
    if (this.cancelTicker === null) return;
    if (finalSnapshot !== undefined) {
      // The last frame stays on screen and never moves again, so it need not fit the height.
      const width = this.columns;
      this.guarded(() => this.draw(renderLive(finalSnapshot, { width, color: this.color })));
    }
    this.teardown();
  }

  /** Stops the ticker, shows the cursor and removes every listener this view added. */
  private teardown(): void {
    if (this.cancelTicker !== null) this.cancelTicker();
    this.cancelTicker = null;
    this.getSnapshot = null;
    this.stream.off('resize', this.onResize);
    this.restoreCursor();
    process.off('exit', this.onExit);
    for (const signal of EXIT_SIGNALS) process.off(signal, this.onSignal);
  }

  /** Renders one frame if anything changed; the ticker calls it. Never throws. */
  private readonly tick = (): void => {
    const get = this.getSnapshot;
    if (get === null) return;
    this.guarded(() => {
      const lines = renderLive(get(), {
        width: this.columns,
        height: Math.max(1, this.rows - RESERVED_ROWS),
        color: this.color,
      });
      if (!this.dirty && lines.join('\n') === this.previous.join('\n')) return;
      this.draw(lines);
    });
  };

  private draw(lines: readonly string[]): void {
    let out = SYNC_START;
    const up = this.previousRows();
    if (up > 0) out += cursorUp(up);
    for (const line of lines) out += `${ERASE_LINE}${line}\n`;
    out += ERASE_BELOW + SYNC_END;
    this.stream.write(out);
    this.previous = [...lines];
    this.previousColumns = this.columns;
    this.dirty = false;
  }

  /** Screen rows the frame on screen takes now: more than its lines if a resize re-wrapped it. */
  private previousRows(): number {
    if (this.columns >= this.previousColumns) return this.previous.length;
    return this.previous.reduce(
      (rows, line) => rows + Math.max(1, Math.ceil(visibleWidth(line) / Math.max(1, this.columns))),
      0,
    );
  }

  private readSize(): void {
    this.columns = this.stream.columns ?? DEFAULT_COLUMNS;
    this.rows = this.stream.rows ?? DEFAULT_ROWS;
  }

  private readonly onResize = (): void => {
    this.readSize();
    this.dirty = true;
  };

  private restoreCursor(): void {
    if (!this.cursorHidden) return;
    this.cursorHidden = false;
    this.guarded(() => this.stream.write(SHOW_CURSOR));
  }

  private readonly onExit = (): void => {
    this.restoreCursor();
  };

  /**
   * On SIGINT/SIGTERM with no other listener, Node would die without an 'exit' event: show the
   * cursor, step aside and re-raise so the default action still happens. When the run command
   * handles the signal itself, it stops this view (or exits) and the cursor comes back then.
   */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (process.listenerCount(signal) > 1) return;
    this.teardown();
    process.kill(process.pid, signal);
  };

  private guarded(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.failures.record(error);
    }
  }
}

export interface ProgressPrinterOptions {
  /** How often to print a line. Default 5000 ms. */
  intervalMs?: number;
  onError?: ErrorReporter;
  ticker?: Ticker;
}

export const DEFAULT_PRINT_INTERVAL_MS = 5000;
const MIN_PRINT_INTERVAL_MS = 100;

/** For output that is not a terminal: prints renderProgressLine every interval and at the end. */
export class ProgressPrinter implements ProgressView {
  private readonly intervalMs: number;
  private readonly failures: FailureCounter;
  private readonly ticker: Ticker;
  private getSnapshot: (() => LiveSnapshot) | null = null;
  private cancelTicker: (() => void) | null = null;

  constructor(
    private readonly stream: { write(chunk: string): boolean },
    opts: ProgressPrinterOptions = {},
  ) {
    const ms = opts.intervalMs;
    const valid = ms !== undefined && Number.isFinite(ms);
    this.intervalMs = valid ? Math.max(MIN_PRINT_INTERVAL_MS, ms) : DEFAULT_PRINT_INTERVAL_MS;
    this.failures = new FailureCounter(opts.onError ?? defaultReporter);
    this.ticker = opts.ticker ?? intervalTicker;
  }

  get errorCount(): number {
    return this.failures.count;
  }

  start(getSnapshot: () => LiveSnapshot): void {
    this.getSnapshot = getSnapshot;
    if (this.cancelTicker !== null) return;
    this.cancelTicker = this.ticker(this.intervalMs, this.tick);
  }

  stop(finalSnapshot?: LiveSnapshot): void {
    if (this.cancelTicker === null) return;
    this.cancelTicker();
    this.cancelTicker = null;
    this.getSnapshot = null;
    if (finalSnapshot !== undefined) this.print(finalSnapshot);
  }

  private readonly tick = (): void => {
    const get = this.getSnapshot;
    if (get === null) return;
    try {
      this.print(get());
    } catch (error) {
      this.failures.record(error);
    }
  };

  private print(snapshot: LiveSnapshot): void {
    try {
      this.stream.write(`${renderProgressLine(snapshot)}\n`);
    } catch (error) {
      this.failures.record(error);
    }
  }
}

/** The view for `--quiet`: shows nothing. */
export class QuietView implements ProgressView {
  start(_getSnapshot: () => LiveSnapshot): void {}
  stop(_finalSnapshot?: LiveSnapshot): void {}
}

export interface ProgressViewOptions {
  stream: TerminalStream;
  quiet: boolean;
  /** Redraw in place; default: the stream is a TTY and TERM is not "dumb". */
  tty?: boolean;
  color?: boolean;
  refreshMs?: number;
  intervalMs?: number;
  onError?: ErrorReporter;
}

/** Quiet → QuietView; a terminal → LiveTerminal; anything else (CI, pipe) → ProgressPrinter. */
export function createProgressView(opts: ProgressViewOptions): ProgressView {
  if (opts.quiet) return new QuietView();
  const tty = opts.tty ?? (opts.stream.isTTY === true && process.env['TERM'] !== 'dumb');
  if (tty) {
    return new LiveTerminal(opts.stream, {
      refreshMs: opts.refreshMs,
      color: opts.color,
      onError: opts.onError,
    });
  }
  return new ProgressPrinter(opts.stream, { intervalMs: opts.intervalMs, onError: opts.onError });
}
