// Browser client one VU drives (`ctx.browser`): pages in the VU's own browser context (its own
// cookies and storage) of one headless Chromium per worker thread, driven by playwright-core;
// navigations and actions are what steps do, and each page visit's web vitals (TTFB, FCP, LCP,
// CLS, load) are recorded as trends (`browser_ttfb` …). Chromium is Debian's (browsers cannot
// be downloaded): /usr/bin/chromium, or SALVO_CHROMIUM. playwright-core loads on first use.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { recordHandled } from '../../handled-errors.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  ClientError,
  RESULT_STATUS,
  type ClientEnv,
  type StatusResult,
  type VuClient,
} from '../client.js';
import {
  VITALS_BINDING,
  VITALS_NOW,
  VITALS_SCRIPT,
  VisitTracker,
  parseVitalsReport,
  type WebVitals,
} from './vitals.js';

/** Open pages per client (per VU). */
export const MAX_BROWSER_PAGES = 8;
/** Where Debian installs Chromium; SALVO_CHROMIUM overrides it. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** Longest wait for Chromium to start. */
export const BROWSER_LAUNCH_TIMEOUT_MS = 30_000;

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The stable kind of a Playwright failure. */
export function browserErrorKind(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'TimeoutError' || /Timeout \d+ms exceeded/.test(message)) return 'timeout';
  if (message.includes('net::ERR_CONNECTION_REFUSED')) return 'connect_refused';
  if (message.includes('net::ERR_NAME_NOT_RESOLVED')) return 'dns';
  if (message.includes('net::ERR_CONNECTION_RESET')) return 'connection_reset';
  if (/net::ERR_(CERT|SSL)/.test(message)) return 'tls';
  if (message.includes('net::ERR_')) return 'network';
  if (/has been closed|Target closed/.test(message)) return 'closed';
  return 'browser';
}

/** One headless Chromium shared by every VU of this thread; closed when the last VU lets go. */
const shared: { browser: Promise<Browser> | null; users: number } = { browser: null, users: 0 };

function chromiumPath(): string {
  return process.env['SALVO_CHROMIUM'] ?? DEFAULT_CHROMIUM;
}

function acquireBrowser(timeoutMs: number): Promise<Browser> {
  shared.users++;
  if (shared.browser === null) {
    const path = chromiumPath();
    const launching = (async (): Promise<Browser> => {
      if (!existsSync(path)) {
        throw new ClientError(
          'browser',
          'no_browser',
          `Chromium not found at ${path}: install Debian's chromium (scripts/setup-protocols.sh) or set SALVO_CHROMIUM`,
          path,
        );
      }
      const { chromium } = await import('playwright-core');
      return chromium.launch({
        executablePath: path,
        headless: true,
        args: LAUNCH_ARGS,
        timeout: Math.min(timeoutMs, BROWSER_LAUNCH_TIMEOUT_MS),
      });
    })();
    shared.browser = launching;
    // A failed launch is retried by the next VU that asks.
    // The failure reaches the step that asked; here it is counted and the slot freed for a retry.
    launching.catch((error: unknown) => {
      recordHandled('browser: Chromium launch', error);
      if (shared.browser === launching) shared.browser = null;
    });
  }
  return shared.browser;
}

function releaseBrowser(): void {
  shared.users = Math.max(0, shared.users - 1);
  const browser = shared.browser;
  if (shared.users > 0 || browser === null) return;
  shared.browser = null;
  browser
    .then((b) => b.close())
    .catch((error: unknown) => {
      // The launch failure was reported to the step that asked; a failed close is reported here.
      if (!(error instanceof ClientError)) {
        console.error(`salvo browser: closing Chromium failed: ${String(error)}`);
      }
    });
}

/** What `goto` hands back: the response's status and the visit's vitals so far. */
export class PageVisit implements StatusResult {
  readonly [RESULT_STATUS]: number;
  constructor(
    /** The main document's HTTP status (0 when there was no response, e.g. a same-page anchor). */
    readonly status: number,
    /** The URL after redirects. */
    readonly url: string,
    /** From the goto call to the `waitUntil` event. */
    readonly navigationMs: number,
    /** The vitals measured so far (LCP and CLS may still grow until the visit ends). */
    readonly vitals: WebVitals,
  ) {
    this[RESULT_STATUS] = status;
  }
}

export interface GotoOptions {
  /** Wait for `load` (default), `domcontentloaded` or `networkidle`. */
  waitUntil?: 'load' | 'domcontentloaded' | 'networkidle';
  timeoutMs?: number;
}

/**
 * Evaluated in the page (DOM code, so kept as text here): its vitals after the next frame, or
 * after up to FCP_WAIT_FRAMES frames while the first contentful paint is not reported yet.
 */
const FCP_WAIT_FRAMES = 30;
const READ_VITALS = `new Promise((resolve) => {
  const read = window[${JSON.stringify(VITALS_NOW)}];
  if (typeof read !== 'function') return resolve(null);
  let frames = 0;
  const tick = () => {
    const v = read();
    if (v.fcpMs !== null || ++frames >= ${FCP_WAIT_FRAMES}) resolve(v);
    else next();
  };
  const next = () => requestAnimationFrame(() => setTimeout(tick, 0));
  next();
})`;

const NO_VITALS: WebVitals = { ttfbMs: null, fcpMs: null, lcpMs: null, cls: 0, loadMs: null };

/** One tab. Selectors are Playwright's (`#id`, `text=Login`, `role=button[name="Go"]`). */
export class BrowserPage {
  private readonly visits: VisitTracker;
  private closed = false;

  /** @internal made by BrowserClient.newPage. */
  constructor(
    /** The Playwright page, for anything this class does not wrap. */
    readonly raw: Page,
    private readonly timeoutMs: number,
    record: ((name: string, value: number) => void) | undefined,
    private readonly owner: Set<BrowserPage>,
  ) {
    this.visits = new VisitTracker(record);
  }

  /** @internal wires the vitals reports; called once before the first navigation. */
  async install(): Promise<void> {
    await this.raw.exposeBinding(VITALS_BINDING, (_source, value: unknown) => {
      const report = parseVitalsReport(value);
      if (report !== null) this.visits.report(report);
    });
    await this.raw.addInitScript({ content: VITALS_SCRIPT });
  }

  private fail(error: unknown, what: string): ClientError {
    if (error instanceof ClientError) return error;
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return new ClientError(
      'browser',
      browserErrorKind(error),
      `${what}: ${message}`,
      this.raw.url(),
      {
        cause: error,
      },
    );
  }

  private check(): void {
    if (this.closed) throw new ClientError('browser', 'closed', 'the page is closed', this.url);
  }

  /** The page's current URL. */
  get url(): string {
    return this.raw.url();
  }

  /** Visits whose vitals were recorded so far. */
  get recordedVisits(): number {
    return this.visits.recorded;
  }

  /**
   * Navigates (relative URLs resolve against the workflow's base URL) and waits for the page
   * to load and paint; the previous visit's vitals are recorded first.
   */
  async goto(url: string, options: GotoOptions = {}): Promise<PageVisit> {
    this.check();
    this.visits.finish();
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const since = performance.now();
    try {
      const response = await this.raw.goto(url, {
        waitUntil: options.waitUntil ?? 'load',
        timeout,
      });
      const navigationMs = performance.now() - since;
      const vitals = await this.vitals();
      return new PageVisit(response?.status() ?? 0, this.raw.url(), navigationMs, vitals);
    } catch (error) {
      throw this.fail(error, `goto ${url}`);
    }
  }

  /**
   * The current document's vitals, read from the page after its next paint (and kept as the
   * visit's latest report).
   */
  async vitals(): Promise<WebVitals> {
    this.check();
    let value: unknown;
    try {
      // After the next paint, so the paint and layout-shift entries of this frame are in.
      value = await this.raw.evaluate(READ_VITALS);
    } catch (error) {
      throw this.fail(error, 'reading web vitals');
    }
    const report = parseVitalsReport(value);
    if (report === null) return NO_VITALS;
    this.visits.report(report);
    const { ttfbMs, fcpMs, lcpMs, cls, loadMs } = report;
    return { ttfbMs, fcpMs, lcpMs, cls, loadMs };
  }

  async click(selector: string, options: { timeoutMs?: number } = {}): Promise<void> {
    this.check();
    try {
      await this.raw.click(selector, { timeout: options.timeoutMs ?? this.timeoutMs });
    } catch (error) {
      throw this.fail(error, `click ${selector}`);
    }
  }

  async fill(selector: string, value: string, options: { timeoutMs?: number } = {}): Promise<void> {
    this.check();
    try {
      await this.raw.fill(selector, value, { timeout: options.timeoutMs ?? this.timeoutMs });
    } catch (error) {
      throw this.fail(error, `fill ${selector}`);
    }
  }

  async press(selector: string, key: string, options: { timeoutMs?: number } = {}): Promise<void> {
    this.check();
    try {
      await this.raw.press(selector, key, { timeout: options.timeoutMs ?? this.timeoutMs });
    } catch (error) {
      throw this.fail(error, `press ${key} in ${selector}`);
    }
  }

  /** Waits until `selector` is visible (or `state`); fails with `timeout`. */
  async waitFor(
    selector: string,
    options: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeoutMs?: number } = {},
  ): Promise<void> {
    this.check();
    try {
      await this.raw.waitForSelector(selector, {
        state: options.state ?? 'visible',
        timeout: options.timeoutMs ?? this.timeoutMs,
      });
    } catch (error) {
      throw this.fail(error, `wait for ${selector}`);
    }
  }

  /** The text content of the first element matching `selector`. */
  async text(selector: string, options: { timeoutMs?: number } = {}): Promise<string> {
    this.check();
    try {
      return (
        (await this.raw.textContent(selector, { timeout: options.timeoutMs ?? this.timeoutMs })) ??
        ''
      );
    } catch (error) {
      throw this.fail(error, `text of ${selector}`);
    }
  }

  async title(): Promise<string> {
    this.check();
    try {
      return await this.raw.title();
    } catch (error) {
      throw this.fail(error, 'title');
    }
  }

  /** Records the visit's vitals and closes the tab. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.owner.delete(this);
    this.visits.finish();
    try {
      await this.raw.close();
    } catch (error) {
      throw this.fail(error, 'close');
    }
  }

  /** @internal the VU ends: record what is known and let the context close the tab. */
  abandon(): void {
    this.closed = true;
    this.visits.finish();
  }
}

export interface NewPageOptions {
  viewport?: { width: number; height: number };
}

/**
 * @example
 * .step('shop', async ({ browser }) => {
 *   const page = await browser.newPage();
 *   await page.goto('/app/');
 *   await page.fill('#q', 'al');
 *   await page.click('#go');
 *   const found = await page.text('#result');
 *   await page.close();   // records the visit's LCP and CLS
 *   return found;
 * })
 */
export class BrowserClient implements VuClient {
  private context: Promise<BrowserContext> | null = null;
  private readonly pages = new Set<BrowserPage>();
  private closed = false;
  private holding = false;

  constructor(private readonly env: ClientEnv) {}

  private openContext(): Promise<BrowserContext> {
    if (this.context !== null) return this.context;
    this.holding = true;
    const opening = acquireBrowser(this.env.timeoutMs).then((browser) =>
      browser.newContext({
        ...(this.env.baseUrl !== undefined ? { baseURL: this.env.baseUrl } : {}),
        extraHTTPHeaders: { ...this.env.headers },
      }),
    );
    this.context = opening;
    opening.catch((error: unknown) => {
      // The failure reaches newPage's caller; a later newPage tries again.
      recordHandled('browser: open context', error);
      if (this.context === opening) {
        this.context = null;
        if (this.holding) {
          this.holding = false;
          releaseBrowser();
        }
      }
    });
    return opening;
  }

  /** A new tab in this VU's browser context (cookies and storage shared by its tabs). */
  async newPage(options: NewPageOptions = {}): Promise<BrowserPage> {
    if (this.closed) throw new ClientError('browser', 'closed', 'the client was closed', 'browser');
    if (this.pages.size >= MAX_BROWSER_PAGES) {
      throw new ClientError(
        'browser',
        'too_many_pages',
        `more than ${MAX_BROWSER_PAGES} open pages in one VU (close pages when done)`,
        'browser',
      );
    }
    let page: Page;
    try {
      const context = await this.openContext();
      page = await context.newPage();
      if (options.viewport) await page.setViewportSize(options.viewport);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new ClientError('browser', browserErrorKind(error), `new page: ${message}`, 'browser', {
        cause: error,
      });
    }
    const metrics = this.env.metrics;
    const wrapped = new BrowserPage(
      page,
      this.env.timeoutMs,
      metrics ? (name, value) => metrics.trend(name).add(value) : undefined,
      this.pages,
    );
    this.pages.add(wrapped);
    if (this.closed) {
      wrapped.abandon();
      throw new ClientError('browser', 'closed', 'the client was closed', 'browser');
    }
    try {
      await wrapped.install();
    } catch (error) {
      wrapped.abandon();
      this.pages.delete(wrapped);
      page.close().catch((closeError: unknown) => {
        console.error(`salvo browser: closing a page that failed to start: ${String(closeError)}`);
      });
      throw new ClientError(
        'browser',
        browserErrorKind(error),
        `new page: ${String(error)}`,
        'browser',
        {
          cause: error,
        },
      );
    }
    return wrapped;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pages) p.abandon();
    this.pages.clear();
    const context = this.context;
    this.context = null;
    if (context !== null) {
      context
        .then((c) => c.close())
        .catch((error: unknown) => {
          if (!(error instanceof ClientError)) {
            console.error(`salvo browser: closing a VU's browser context failed: ${String(error)}`);
          }
        })
        .finally(() => {
          if (this.holding) {
            this.holding = false;
            releaseBrowser();
          }
        });
    }
  }
}

/** Offered to steps as `ctx.browser`. */
export const browserKind = {
  name: 'browser' as const,
  create(env: ClientEnv): BrowserClient {
    return new BrowserClient(env);
  },
};
