// HTTP Digest authentication (RFC 7616): parse a `WWW-Authenticate: Digest …` challenge and
// compute the `Authorization` answer (MD5 or SHA-256, with or without `-sess`, qop `auth`).
// Pure apart from the client nonce's random bytes.
import { createHash, randomBytes } from 'node:crypto';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop: string | undefined;
  algorithm: string;
  opaque: string | undefined;
}

/** The Digest challenge in a WWW-Authenticate value, or null when it holds none. */
export function parseDigestChallenge(header: string | undefined): DigestChallenge | null {
  if (header === undefined) return null;
  const at = header.search(/digest\s/i);
  if (at === -1) return null;
  const params: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi;
  for (const m of header.slice(at + 7).matchAll(re)) {
    params[(m[1] ?? '').toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  if (params.nonce === undefined || params.realm === undefined) return null;
  const qops = (params.qop ?? '').split(',').map((q) => q.trim());
  return {
    realm: params.realm,
    nonce: params.nonce,
    qop: qops.includes('auth') ? 'auth' : undefined,
    algorithm: params.algorithm ?? 'MD5',
    opaque: params.opaque,
  };
}

/** The Authorization value answering `challenge` for `method` `uri` (path and query). */
export function digestAuthorization(
  challenge: DigestChallenge,
  username: string,
  password: string,
  method: string,
  uri: string,
  nc = 1,
  cnonce = randomBytes(8).toString('hex'),
): string {
  const algorithm = challenge.algorithm.toUpperCase();
  const hashName = algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
  const h = (s: string): string => createHash(hashName).update(s).digest('hex');
  const ncHex = nc.toString(16).padStart(8, '0');
  let ha1 = h(`${username}:${challenge.realm}:${password}`);
  if (algorithm.endsWith('-SESS')) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  const response =
    challenge.qop === 'auth'
      ? h(`${ha1}:${challenge.nonce}:${ncHex}:${cnonce}:auth:${ha2}`)
      : h(`${ha1}:${challenge.nonce}:${ha2}`);
  const parts = [
    `username="${username}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    `algorithm=${challenge.algorithm}`,
    `response="${response}"`,
  ];
  if (challenge.qop === 'auth') parts.push('qop=auth', `nc=${ncHex}`, `cnonce="${cnonce}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}
