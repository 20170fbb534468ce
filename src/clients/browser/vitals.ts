// Web-vital timings of the pages a browser client visits: the script each page runs (layout
// shift, paint and largest-contentful-paint observers, the navigation entry) which reports to
// Node on every change, and the bookkeeping that turns one document's reports into one sample
// per vital when the visit ends. Pure apart from the script text the browser runs.

/** What a page visit measured, in milliseconds from its navigation start (CLS is unitless). */
export interface WebVitals {
  /** Time to first byte: the navigation's responseStart. */
  readonly ttfbMs: number | null;
  /** First contentful paint. */
  readonly fcpMs: number | null;
  /** Largest contentful paint so far (final when the visit ends). */
  readonly lcpMs: number | null;
  /** Cumulative layout shift: the largest session window of shifts without recent input. */
  readonly cls: number;
  /** The load event's end; null until it fired. */
  readonly loadMs: number | null;
}

/** The metric names the vitals are recorded under (trends; thresholds take them). */
export const VITAL_METRICS = {
  ttfbMs: 'browser_ttfb',
  fcpMs: 'browser_fcp',
  lcpMs: 'browser_lcp',
  cls: 'browser_cls',
  loadMs: 'browser_load',
} as const satisfies Record<keyof WebVitals, string>;

/** The name of the function the page calls with its vitals. */
export const VITALS_BINDING = '__salvoVitals';

/** The function the page offers for reading its vitals now. */
export const VITALS_NOW = '__salvoVitalsNow';

/** One report from a document: `id` tells documents apart (its performance.timeOrigin). */
export interface VitalsReport extends WebVitals {
  readonly id: number;
  readonly url: string;
}

/**
 * Runs in every document before its own scripts. Reports at most once per animation frame,
 * after each change, so the last report before the document goes away is current.
 */
export const VITALS_SCRIPT = `(() => {
  const report = window[${JSON.stringify(VITALS_BINDING)}];
  if (typeof report !== 'function' || typeof PerformanceObserver !== 'function') return;
  const v = { id: performance.timeOrigin, url: location.href, ttfbMs: null, fcpMs: null, lcpMs: null, cls: 0, loadMs: null };
  let queued = false;
  const now = () => {
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav) {
      v.ttfbMs = nav.responseStart > 0 ? nav.responseStart : null;
      v.loadMs = nav.loadEventEnd > 0 ? nav.loadEventEnd : null;
    }
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    if (fcp && v.fcpMs === null) v.fcpMs = fcp.startTime;
    return Object.assign({}, v);
  };
  Object.defineProperty(window, ${JSON.stringify(VITALS_NOW)}, { value: now });
  const send = () => {
    queued = false;
    report(now()).catch(() => undefined);
  };
  const changed = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => setTimeout(send, 0));
  };
  const observe = (type, each) => {
    try {
      new PerformanceObserver((list) => { list.getEntries().forEach(each); changed(); })
        .observe({ type, buffered: true });
    } catch (e) { /* an entry type this browser lacks is left null */ }
  };
  observe('paint', (e) => { if (e.name === 'first-contentful-paint') v.fcpMs = e.startTime; });
  observe('largest-contentful-paint', (e) => { v.lcpMs = e.startTime; });
  let first = 0, last = 0, session = 0;
  observe('layout-shift', (e) => {
    if (e.hadRecentInput) return;
    if (session > 0 && e.startTime - last < 1000 && e.startTime - first < 5000) {
      session += e.value;
    } else {
      first = e.startTime;
      session = e.value;
    }
    last = e.startTime;
    if (session > v.cls) v.cls = session;
  });
  addEventListener('load', () => setTimeout(changed, 0));
  changed();
})();`;

/** Parses what the page sent; null for anything that is not a well-formed report. */
export function parseVitalsReport(value: unknown): VitalsReport | null {
  if (typeof value !== 'object' || value === null) return null;
  const o = value as Record<string, unknown>;
  const num = (k: string): number | null | undefined => {
    const x = o[k];
    if (x === null) return null;
    return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined;
  };
  const id = num('id');
  const cls = num('cls');
  const ttfb = num('ttfbMs');
  const fcp = num('fcpMs');
  const lcp = num('lcpMs');
  const load = num('loadMs');
  if (id == null || cls == null || typeof o['url'] !== 'string') return null;
  if (ttfb === undefined || fcp === undefined || lcp === undefined || load === undefined)
    return null;
  return { id, url: o['url'], ttfbMs: ttfb, fcpMs: fcp, lcpMs: lcp, cls, loadMs: load };
}

/** Where a finished visit's vitals go (the VU's trends). */
export type VitalsSink = (name: string, value: number) => void;

/**
 * The current document of one page: reports replace its vitals; a report from a new document
 * (or `finish`) ends the visit and records each vital once.
 */
export class VisitTracker {
  private current: VitalsReport | null = null;
  /** Visits whose vitals were recorded. */
  recorded = 0;

  constructor(private readonly sink: VitalsSink | undefined) {}

  /** The latest vitals of the current document, if it reported. */
  get latest(): VitalsReport | null {
    return this.current;
  }

  report(r: VitalsReport): void {
    if (this.current !== null && this.current.id !== r.id) this.finish();
    this.current = r;
  }

  /** Records the current visit's vitals (once) and forgets it. */
  finish(): void {
    const v = this.current;
    this.current = null;
    if (v === null) return;
    this.recorded++;
    if (this.sink === undefined) return;
    for (const key of Object.keys(VITAL_METRICS) as (keyof WebVitals)[]) {
      const value = v[key];
      if (value !== null) this.sink(VITAL_METRICS[key], value);
    }
  }
}
