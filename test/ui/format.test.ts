// Tests for src/ui/format.ts: number, duration and latency formatting edge cases, ANSI-aware
// width and truncation, the colour policy, and the width-aware table.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createStyle,
  flow,
  formatClock,
  formatCompact,
  formatCount,
  formatDuration,
  formatLatency,
  formatNumber,
  formatPercent,
  formatRate,
  ratio,
  resolveColor,
  sanitize,
  stripAnsi,
  table,
  truncate,
  visibleWidth,
  wrap,
} from '../../src/ui/format.js';

void describe('formatDuration', () => {
  void it('formats milliseconds, seconds, minutes and hours', () => {
    assert.equal(formatDuration(0), '0ms');
    assert.equal(formatDuration(950), '950ms');
    assert.equal(formatDuration(999.6), '1s');
    assert.equal(formatDuration(4200), '4.2s');
    assert.equal(formatDuration(9960), '10s');
    assert.equal(formatDuration(42_000), '42s');
    assert.equal(formatDuration(59_600), '1m00s');
    assert.equal(formatDuration(65_000), '1m05s');
    assert.equal(formatDuration(3_599_400), '59m59s');
    assert.equal(formatDuration(3_600_000), '1h00m');
    assert.equal(formatDuration(2 * 3_600_000 + 3 * 60_000), '2h03m');
  });

  void it('clamps negatives and shows non-finite as a dash', () => {
    assert.equal(formatDuration(-5), '0ms');
    assert.equal(formatDuration(Number.NaN), '—');
  });
});

void describe('formatClock', () => {
  void it('shows mm:ss, then h:mm:ss', () => {
    assert.equal(formatClock(0), '00:00');
    assert.equal(formatClock(12_999), '00:12');
    assert.equal(formatClock(30 * 60_000), '30:00');
    assert.equal(formatClock(3_723_000), '1:02:03');
  });
});

void describe('formatLatency', () => {
  void it('keeps three significant digits and switches to seconds', () => {
    assert.equal(formatLatency(null), '—');
    assert.equal(formatLatency(0), '0.00ms');
    assert.equal(formatLatency(0.004), '<0.01ms');
    assert.equal(formatLatency(0.84), '0.84ms');
    assert.equal(formatLatency(3.1), '3.10ms');
    assert.equal(formatLatency(9.999), '10.0ms');
    assert.equal(formatLatency(12.34), '12.3ms');
    assert.equal(formatLatency(99.96), '100ms');
    assert.equal(formatLatency(123.4), '123ms');
    assert.equal(formatLatency(999.7), '1.00s');
    assert.equal(formatLatency(1240), '1.24s');
    assert.equal(formatLatency(12_400), '12.4s');
    assert.equal(formatLatency(125_000), '2m05s');
    assert.equal(formatLatency(Number.POSITIVE_INFINITY), '—');
  });
});

void describe('formatCount and formatCompact', () => {
  void it('groups thousands', () => {
    assert.equal(formatCount(0), '0');
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(12_345), '12,345');
    assert.equal(formatCount(1_234_567), '1,234,567');
    assert.equal(formatCount(-1234), '-1,234');
    assert.equal(formatCount(12.6), '13');
    assert.equal(formatCount(Number.NaN), '—');
  });

  void it('abbreviates large counts and rolls over at unit edges', () => {
    assert.equal(formatCount(9_999, { compact: true }), '9,999');
    assert.equal(formatCompact(12_345), '12.3k');
    assert.equal(formatCompact(123_456), '123k');
    assert.equal(formatCompact(1_234_567), '1.2M');
    assert.equal(formatCompact(999_960), '1M');
    assert.equal(formatCompact(2_500_000_000), '2.5B');
    assert.equal(formatCompact(-12_345), '-12.3k');
  });
});

void describe('formatRate, formatPercent, formatNumber', () => {
  void it('formats rates per second', () => {
    assert.equal(formatRate(1234.4), '1,234/s');
    assert.equal(formatRate(0), '0/s');
    assert.equal(formatRate(2.5), '2.5/s');
    assert.equal(formatRate(3), '3/s');
    assert.equal(formatRate(-1), '0/s');
    assert.equal(formatRate(Number.NaN), '0/s');
    assert.equal(formatRate(4210, { unit: 'req' }), '4,210 req/s');
    assert.equal(formatRate(1_500_000, { compact: true }), '1.5M/s');
  });

  void it('formats percentages and guards division by zero', () => {
    assert.equal(formatPercent(0), '0.00%');
    assert.equal(formatPercent(0.0123), '1.23%');
    assert.equal(formatPercent(1, 0), '100%');
    assert.equal(formatPercent(ratio(5, 0)), '0.00%');
    assert.equal(formatPercent(Number.NaN), '—');
  });

  void it('formats plain measurements', () => {
    assert.equal(formatNumber(3), '3');
    assert.equal(formatNumber(1234.5), '1,235');
    assert.equal(formatNumber(12.34), '12.3');
    assert.equal(formatNumber(4.2), '4.20');
    assert.equal(formatNumber(0.1234), '0.123');
    assert.equal(formatNumber(0.1), '0.1');
  });
});

void describe('ANSI handling', () => {
  const red = '\u001b[31mred\u001b[39m';

  void it('measures visible width without escape sequences, wide characters as two', () => {
    assert.equal(visibleWidth(red), 3);
    assert.equal(visibleWidth(`${red} and \u001b]8;;https://x\u0007link\u001b]8;;\u0007`), 12);
    assert.equal(visibleWidth('✓ ⣿ …'), 5);
    assert.equal(visibleWidth('日本'), 4);
    assert.equal(visibleWidth('e\u0301'), 1);
    assert.equal(stripAnsi(red), 'red');
  });

  void it('truncates with an ellipsis, keeping escapes and resetting after them', () => {
    assert.equal(truncate('hello world', 20), 'hello world');
    assert.equal(truncate('hello world', 6), 'hello…');
    assert.equal(truncate('hello', 1), '…');
    assert.equal(truncate('hello', 0), '');
    const cut = truncate(`${red} alert`, 5);
    assert.equal(visibleWidth(cut), 5);
    assert.equal(stripAnsi(cut), 'red …');
    assert.ok(cut.endsWith('\u001b[0m'));
    assert.equal(visibleWidth(truncate('日本語テキスト', 6)), 5);
  });

  void it('sanitizes outside text into one safe line', () => {
    assert.equal(sanitize('a\nb\tc\u0007d\u001b[2Je\u001b'), 'a b cde');
  });

  void it('paints only when colour is enabled', () => {
    assert.equal(createStyle(false).red('x'), 'x');
    assert.equal(createStyle(true).red('x'), '\u001b[31mx\u001b[39m');
    assert.equal(createStyle(true).bold(''), '');
  });

  void it('resolves colour: NO_COLOR wins, then the option, then the TTY', () => {
    const tty = { isTTY: true };
    assert.equal(resolveColor({ color: true, env: { NO_COLOR: '1' } }), false);
    assert.equal(resolveColor({ color: true, env: { NO_COLOR: '' } }), true);
    assert.equal(resolveColor({ color: false, stream: tty, env: {} }), false);
    assert.equal(resolveColor({ stream: tty, env: {} }), true);
    assert.equal(resolveColor({ stream: tty, env: { TERM: 'dumb' } }), false);
    assert.equal(resolveColor({ stream: { isTTY: false }, env: {} }), false);
  });
});

void describe('flow and wrap', () => {
  void it('packs fields onto as few lines as fit', () => {
    assert.deepEqual(flow(['aaa', 'bbb', 'ccc'], 20), ['aaa   bbb   ccc']);
    assert.deepEqual(flow(['aaa', 'bbb', 'ccc'], 10, 2), ['  aaa', '  bbb', '  ccc']);
    assert.deepEqual(flow(['aaa', '', 'bbb'], 80), ['aaa   bbb']);
  });

  void it('wraps prose at word boundaries', () => {
    const lines = wrap('all 1,234 requests failed: connect_refused (target unreachable?)', 30, 2);
    assert.ok(lines.length > 1);
    for (const line of lines) assert.ok(visibleWidth(line) <= 30);
    assert.equal(
      lines.map((l) => l.trim()).join(' '),
      'all 1,234 requests failed: connect_refused (target unreachable?)',
    );
  });
});

void describe('table', () => {
  const columns = [
    { header: 'step' },
    { header: 'count', align: 'right' as const },
    { header: 'p99', align: 'right' as const },
  ];
  const rows = [
    ['login', '12,345', '3.10ms'],
    ['a very long step name that will not fit', '7', '—'],
  ];

  void it('aligns columns when there is room', () => {
    const lines = table(rows, columns, { width: 120 });
    assert.equal(lines[0], 'step                                      count     p99');
    assert.equal(lines[1], 'login                                    12,345  3.10ms');
    assert.equal(lines[2], 'a very long step name that will not fit       7       —');
  });

  void it('shrinks the flexible column with an ellipsis to fit the width', () => {
    const lines = table(rows, columns, { width: 30, indent: 2 });
    for (const line of lines) assert.ok(visibleWidth(line) <= 30, line);
    assert.equal(lines[1], '  login         12,345  3.10ms');
    assert.equal(lines[2], '  a very long…       7       —');
  });

  void it('drops optional columns before cutting numbers', () => {
    const withOptional = [
      { header: 'step', minWidth: 10 },
      columns[1] ?? { header: 'count' },
      { header: 'p99', align: 'right' as const, dropOrder: 1 },
    ];
    const lines = table(rows, withOptional, { width: 20 });
    assert.deepEqual(lines, [
      'step           count',
      'login         12,345',
      'a very long…       7',
    ]);
  });

  void it('cuts lines as a last resort and keeps colour out of the width', () => {
    const coloured = [['\u001b[31mx\u001b[39m', '1', '2']];
    const lines = table(coloured, columns, { width: 5 });
    for (const line of lines) assert.ok(visibleWidth(line) <= 5, line);
  });
});
