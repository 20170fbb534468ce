// The cookie jar of one VU (on by default in both HTTP clients): `Set-Cookie` stored with the
// RFC 6265 rules (domain and path scope, Secure, expiry, host-only, public-suffix refusal) by
// tough-cookie, the well-kept implementation; it is cheap on the hot path because it is consulted
// only once a response has set a cookie, and a response is scanned for Set-Cookie only by a byte
// search. Bounded: at most MAX_COOKIES distinct cookies per VU.
import { createRequire } from 'node:module';
import type { CookieJar } from 'tough-cookie';

type ToughCookie = typeof import('tough-cookie');
let tough: ToughCookie | undefined;
/** Loaded when the first cookie arrives: a run that never sees one never loads it. */
function loadTough(): ToughCookie {
  tough ??= createRequire(import.meta.url)('tough-cookie') as ToughCookie;
  return tough;
}

/** Distinct cookies one VU keeps (browsers keep about 3000); further ones are ignored. */
export const MAX_COOKIES = 3000;

export class VuCookieJar {
  private jarOrNull: CookieJar | null = null;
  private readonly seen = new Set<string>();
  /** Cookies refused (bad scope, over the bound); for debugging. */
  rejected = 0;

  private get jar(): CookieJar {
    this.jarOrNull ??= new (loadTough().CookieJar)();
    return this.jarOrNull;
  }

  /** True until a response set a cookie: requests then carry no Cookie header. */
  get empty(): boolean {
    return this.seen.size === 0;
  }

  /** Stores the `Set-Cookie` values of a response from `url`. */
  capture(url: string, setCookies: readonly string[]): void {
    for (const value of setCookies) {
      if (this.seen.size >= MAX_COOKIES) {
        this.rejected++;
        continue;
      }
      try {
        const stored = this.jar.setCookieSync(value, url, { ignoreError: false });
        if (stored === undefined) this.rejected++;
        else this.seen.add(`${stored.key}\u0000${stored.domain ?? ''}\u0000${stored.path ?? ''}`);
      } catch (error) {
        // A cookie outside the response's scope (RFC 6265 §5.3) is refused, not fatal.
        this.rejected++;
        if (!(error instanceof Error)) throw error;
      }
    }
  }

  /** The Cookie header value for a request to `url` ('' when no cookie applies). */
  header(url: string): string {
    if (this.seen.size === 0) return '';
    return this.jar.getCookieStringSync(url);
  }

  /** Every cookie for `url` as name → value (for checks and publishing). */
  cookiesFor(url: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of this.jar.getCookiesSync(url)) out[c.key] = c.value;
    return out;
  }

  /** Sets a cookie as if `url` had sent it. */
  set(url: string, setCookie: string): void {
    this.capture(url, [setCookie]);
  }

  clear(): void {
    this.jar.removeAllCookiesSync();
    this.seen.clear();
  }
}
