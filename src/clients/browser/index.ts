// Public surface of the browser client.
export {
  BrowserClient,
  BrowserPage,
  PageVisit,
  browserKind,
  browserErrorKind,
  MAX_BROWSER_PAGES,
  DEFAULT_CHROMIUM,
} from './client.js';
export type { GotoOptions, NewPageOptions } from './client.js';
export { VITAL_METRICS, VisitTracker, parseVitalsReport } from './vitals.js';
export type { WebVitals, VitalsReport } from './vitals.js';
