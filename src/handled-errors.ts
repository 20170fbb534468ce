// Owns the record of errors that code recovers from by design (a bundle cache that cannot be
// read, a command that is not JSON): each is counted per site with its last message and handed
// to the process's log sink when one is set, so that no caught error vanishes without a trace.
// Bounded (MAX_HANDLED_SITES sites; later new sites are counted together). Never throws.

/** Distinct sites recorded; errors of further sites are counted under OVERFLOW_SITE. */
export const MAX_HANDLED_SITES = 256;
export const OVERFLOW_SITE = '(other sites)';
/** Longest message kept per site. */
const MAX_MESSAGE_CHARS = 500;

export interface HandledError {
  readonly site: string;
  readonly count: number;
  readonly lastMessage: string;
}

export type HandledErrorSink = (site: string, message: string, error: unknown) => void;

const sites = new Map<string, { count: number; lastMessage: string }>();
let sink: HandledErrorSink | null = null;

function messageOf(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name}: ${error.message}`
      : typeof error === 'string'
        ? error
        : (JSON.stringify(error) ?? String(error));
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

/** Records an error that `site` handled by falling back; returns its message for the caller. */
export function recordHandled(site: string, error: unknown): string {
  const message = messageOf(error);
  const key = sites.has(site) || sites.size < MAX_HANDLED_SITES ? site : OVERFLOW_SITE;
  const entry = sites.get(key) ?? { count: 0, lastMessage: '' };
  entry.count++;
  entry.lastMessage = message;
  sites.set(key, entry);
  if (sink !== null) {
    try {
      sink(site, message, error);
    } catch (sinkError) {
      // The sink is the log: there is nowhere else to report it, so count it as its own site.
      const s = sites.get('handled-errors: sink') ?? { count: 0, lastMessage: '' };
      s.count++;
      s.lastMessage = messageOf(sinkError);
      sites.set('handled-errors: sink', s);
    }
  }
  return message;
}

/** Every site recorded so far, most frequent first. */
export function handledErrors(): HandledError[] {
  return [...sites]
    .map(([site, e]) => ({ site, count: e.count, lastMessage: e.lastMessage }))
    .sort((a, b) => b.count - a.count || a.site.localeCompare(b.site));
}

/** Where handled errors are logged from now on (null: counted only). */
export function setHandledErrorSink(next: HandledErrorSink | null): void {
  sink = next;
}
