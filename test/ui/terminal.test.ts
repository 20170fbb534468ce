// Tests for src/ui/terminal.ts: LiveTerminal on a fake TTY (cursor hidden and restored, in-place
// redraws, resize, errors reported once, clean stop), ProgressPrinter, and the view factory.
// Time never matters here: a manual ticker stands in for the interval.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { stripAnsi } from '../../src/ui/format.js';
import type { LiveSnapshot } from '../../src/ui/snapshot.js';
import {
  createProgressView,
  LiveTerminal,
  ProgressPrinter,
  QuietView,
  type Ticker,
} from '../../src/ui/terminal.js';
import { liveSnapshot } from './fixtures.js';

const HIDE = '\u001b[?25l';
const SHOW = '\u001b[?25h';
/** Cursor up N rows: ESC [ N A. */
const CURSOR_UP = new RegExp(`${HIDE.slice(0, 1)}\\[(\\d+)A`);

class FakeTty extends EventEmitter {
  readonly writes: string[] = [];
  isTTY = true;
  constructor(
    public columns = 80,
    public rows = 40,
  ) {
    super();
  }
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return true;
  }
  get output(): string {
    return this.writes.join('');
  }
}

class ManualTicker {
  intervalMs: number | null = null;
  private tickFn: (() => void) | null = null;
  cancelled = 0;
  readonly ticker: Ticker = (intervalMs, tick) => {
    this.intervalMs = intervalMs;
    this.tickFn = tick;
    return () => {
      this.cancelled++;
      this.tickFn = null;
    };
  };
  get running(): boolean {
    return this.tickFn !== null;
  }
  tick(): void {
    assert.ok(this.tickFn, 'ticker is running');
    this.tickFn();
  }
}

function counter(): { snapshot: () => LiveSnapshot; advance: () => void } {
  let elapsedMs = 1000;
  return {
    snapshot: () => liveSnapshot({ elapsedMs }),
    advance: () => {
      elapsedMs += 1000;
    },
  };
}

function processListeners(): number[] {
  return [
    process.listenerCount('exit'),
    process.listenerCount('SIGINT'),
    process.listenerCount('SIGTERM'),
  ];
}

void describe('LiveTerminal', () => {
  void it('hides the cursor, draws the first frame at once and shows the cursor on stop', () => {
    const tty = new FakeTty();
    const clock = new ManualTicker();
    const view = new LiveTerminal(tty, { color: false, ticker: clock.ticker });
    const before = processListeners();
    view.start(counter().snapshot);
    assert.equal(tty.writes[0], HIDE);
    assert.match(stripAnsi(tty.output), /salvo examples\/shop\.ts/);
    assert.deepEqual(
      processListeners(),
      before.map((n) => n + 1),
      'exit and signal hooks installed',
    );
    assert.equal(clock.intervalMs, 500, 'default refresh');
    view.stop();
    assert.ok(tty.output.endsWith(SHOW));
    assert.equal(clock.running, false);
    assert.deepEqual(processListeners(), before, 'hooks removed');
    assert.equal(tty.listenerCount('resize'), 0);
  });

  void it('redraws in place: up over the previous frame, erasing each line and what is left below', () => {
    const tty = new FakeTty(80, 40);
    const clock = new ManualTicker();
    const view = new LiveTerminal(tty, { color: false, ticker: clock.ticker });
    const time = counter();
    view.start(time.snapshot);
    const firstFrame = tty.writes[1] ?? '';
    const firstLines = firstFrame.split('\n').length - 1;
    assert.ok(firstLines > 5);
    assert.ok(
      !firstFrame.includes('\u001b[' + String(firstLines) + 'A'),
      'nothing to move over on the first frame',
    );

    time.advance();
    clock.tick();
    const second = tty.writes.at(-1) ?? '';
    assert.ok(second.includes(`\r\u001b[${firstLines}A`), 'moves up over the whole previous frame');
    assert.equal(
      second.split('\u001b[2K').length - 1,
      firstLines,
      'every line is erased before it is rewritten',
    );
    assert.ok(second.includes('\u001b[J'), 'leftovers below are cleared');
    assert.match(stripAnsi(second), /00:02 \/ 00:30/);
    view.stop();
  });

  void it('skips identical frames and renders only on ticks', () => {
    const tty = new FakeTty();
    const clock = new ManualTicker();
    const view = new LiveTerminal(tty, { color: false, ticker: clock.ticker });
    const snapshot = liveSnapshot();
    view.start(() => snapshot);
    const writes = tty.writes.length;
    clock.tick();
    clock.tick();
    assert.equal(tty.writes.length, writes, 'nothing changed, nothing written');
    view.stop();
  });

  void it('fits frames to the terminal and re-reads its size on resize', () => {
    const tty = new FakeTty(120, 12);
    const clock = new ManualTicker();
    const view = new LiveTerminal(tty, { color: false, ticker: clock.ticker });
    view.start(() => liveSnapshot());
    const frame = (chunk: string): string[] =>
      stripAnsi(chunk.replace(CURSOR_UP, '')).split('\n').slice(0, -1);
    const first = frame(tty.writes[1] ?? '');
    assert.ok(first.length <= 11, `frame of ${first.length} lines leaves the last row free`);

    tty.columns = 60;
    tty.rows = 40;
    tty.emit('resize');
    clock.tick();
    const resized = tty.writes.at(-1) ?? '';
    const lines = frame(resized);
    for (const line of lines) assert.ok([...line.replace('\r', '')].length <= 60, line);
    // The old 120-column frame was re-wrapped by the terminal, so more rows are moved over.
    const up = Number(CURSOR_UP.exec(resized)?.[1]);
    assert.ok(up >= first.length, `moved up ${up} rows over a ${first.length}-line frame`);
    view.stop();
  });

  void it('clamps the refresh to at most a second', () => {
    const clock = new ManualTicker();
    const view = new LiveTerminal(new FakeTty(), {
      refreshMs: 5000,
      ticker: clock.ticker,
      color: false,
    });
    view.start(() => liveSnapshot());
    assert.equal(clock.intervalMs, 1000);
    view.stop();
  });

  void it('catches rendering errors, reports the first once, counts them and keeps going', () => {
    const tty = new FakeTty();
    const clock = new ManualTicker();
    const reported: unknown[] = [];
    const view = new LiveTerminal(tty, {
      color: false,
      ticker: clock.ticker,
      onError: (e) => reported.push(e),
    });
    let fail = true;
    view.start(() => {
      if (fail) throw new Error('snapshot exploded');
      return liveSnapshot();
    });
    clock.tick();
    clock.tick();
    assert.equal(view.errorCount, 3);
    assert.equal(reported.length, 1);
    assert.match(String(reported[0]), /snapshot exploded/);
    fail = false;
    clock.tick();
    assert.match(
      stripAnsi(tty.output),
      /salvo examples\/shop\.ts/,
      'recovers when rendering works again',
    );
    view.stop();
    assert.ok(tty.output.endsWith(SHOW));
  });

  void it('survives a reporter that throws and a stream that throws', async () => {
    const tty = new FakeTty();
    tty.write = () => {
      throw new Error('EPIPE');
    };
    const clock = new ManualTicker();
    const view = new LiveTerminal(tty, {
      color: false,
      ticker: clock.ticker,
      onError: () => {
        throw new Error('reporter broke');
      },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      assert.doesNotThrow(() => view.start(() => liveSnapshot()));
      assert.doesNotThrow(() => clock.tick());
      assert.doesNotThrow(() => view.stop(liveSnapshot()));
      assert.ok(view.errorCount >= 2);
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.ok(
        warnings.some((w) => w.message.includes('reporter broke')),
        'the reporter failure itself is not swallowed',
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  void it('stops with a final frame, only once', () => {
    const tty = new FakeTty(80, 10);
    const clock = new ManualTicker();
    const view = new LiveTerminal(tty, { color: false, ticker: clock.ticker });
    view.start(() => liveSnapshot());
    view.stop(liveSnapshot({ phase: 'done', elapsedMs: 30_000 }));
    const out = stripAnsi(tty.output);
    assert.match(out, /done/);
    const finalFrame = tty.writes.at(-2) ?? '';
    assert.ok(
      finalFrame.split('\n').length - 1 > 10,
      'the final frame is not cut to the screen height',
    );
    const count = tty.writes.length;
    view.stop(liveSnapshot());
    assert.equal(tty.writes.length, count, 'a second stop does nothing');
    assert.equal(clock.cancelled, 1);
  });

  void it('restores the cursor on process exit', () => {
    const tty = new FakeTty();
    const view = new LiveTerminal(tty, { color: false, ticker: new ManualTicker().ticker });
    view.start(() => liveSnapshot());
    const exitListeners = process.listeners('exit');
    const ours = exitListeners[exitListeners.length - 1] as (code: number) => void;
    ours(0);
    assert.ok(tty.output.endsWith(SHOW));
    view.stop();
    assert.equal(tty.output.split(SHOW).length - 1, 1, 'shown once');
  });

  void it('leaves SIGINT alone when someone else handles it', () => {
    const tty = new FakeTty();
    const clock = new ManualTicker();
    const handler = (): void => {};
    process.on('SIGINT', handler);
    const view = new LiveTerminal(tty, { color: false, ticker: clock.ticker });
    try {
      view.start(() => liveSnapshot());
      const listeners = process.listeners('SIGINT');
      const ours = listeners[listeners.length - 1] as (signal: NodeJS.Signals) => void;
      ours('SIGINT');
      assert.equal(clock.running, true, 'the run command handles SIGINT and will stop the view');
      assert.ok(!tty.output.includes(SHOW));
      view.stop();
      assert.ok(tty.output.endsWith(SHOW));
    } finally {
      process.off('SIGINT', handler);
    }
  });
});

void describe('ProgressPrinter', () => {
  void it('prints a plain line per tick and a final line on stop', () => {
    const out = new FakeTty();
    const clock = new ManualTicker();
    const printer = new ProgressPrinter(out, { ticker: clock.ticker });
    const time = counter();
    printer.start(time.snapshot);
    assert.equal(clock.intervalMs, 5000);
    assert.equal(out.writes.length, 0);
    time.advance();
    clock.tick();
    printer.stop(liveSnapshot({ elapsedMs: 30_000, phase: 'done' }));
    assert.equal(out.writes.length, 2);
    assert.match(
      out.writes[0] ?? '',
      /^\[00:02 \/ 00:30\] running {2}workflows 1 running, 1 waiting {2}vus 10 .*\n$/,
    );
    assert.match(out.writes[1] ?? '', /^\[00:30 \/ 00:30\] done/);
    assert.ok(!out.output.includes('\u001b'));
    assert.equal(clock.running, false);
  });

  void it('reports the first failure once and keeps printing', () => {
    const out = new FakeTty();
    const clock = new ManualTicker();
    const reported: unknown[] = [];
    const printer = new ProgressPrinter(out, {
      ticker: clock.ticker,
      onError: (e) => reported.push(e),
      intervalMs: 1000,
    });
    let calls = 0;
    printer.start(() => {
      calls++;
      if (calls <= 2) throw new Error(`bad ${calls}`);
      return liveSnapshot();
    });
    clock.tick();
    clock.tick();
    clock.tick();
    assert.equal(printer.errorCount, 2);
    assert.equal(reported.length, 1);
    assert.equal(out.writes.length, 1);
    printer.stop();
  });
});

void describe('createProgressView', () => {
  void it('picks the view for the output', () => {
    const tty = new FakeTty();
    assert.ok(createProgressView({ stream: tty, quiet: true }) instanceof QuietView);
    assert.ok(createProgressView({ stream: tty, quiet: false, tty: true }) instanceof LiveTerminal);
    assert.ok(
      createProgressView({ stream: tty, quiet: false, tty: false }) instanceof ProgressPrinter,
    );
    const pipe = new FakeTty();
    pipe.isTTY = false;
    assert.ok(createProgressView({ stream: pipe, quiet: false }) instanceof ProgressPrinter);
  });

  void it('the quiet view writes nothing', () => {
    const tty = new FakeTty();
    const view = createProgressView({ stream: tty, quiet: true });
    view.start(() => liveSnapshot());
    view.stop(liveSnapshot());
    assert.equal(tty.writes.length, 0);
  });

  void it('passes colour through to the live view', () => {
    const tty = new FakeTty();
    const env = process.env['NO_COLOR'];
    delete process.env['NO_COLOR'];
    try {
      const view = createProgressView({
        stream: tty,
        quiet: false,
        tty: true,
        color: true,
        refreshMs: 100,
      });
      view.start(() => liveSnapshot());
      view.stop();
      assert.ok(tty.output.includes('\u001b[32m'), 'coloured frame');
    } finally {
      if (env !== undefined) process.env['NO_COLOR'] = env;
    }
  });
});
