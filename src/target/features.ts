// The embedded target's routes for protocol and request-feature examples: /graphql, cookies,
// basic and digest auth, compressed bodies and a multipart/form upload. `featureRoute` answers
// a request it owns and returns true, or returns false and leaves it to the other routes.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { handleGraphql } from './graphql.js';

/** The credentials /auth/basic and /auth/digest accept. */
export const TARGET_USER = { username: 'salvo', password: 'secret' } as const;
/** Largest body /upload reads. */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
const DIGEST_REALM = 'salvo-target';
/** Digest nonces the target remembers (oldest forgotten first). */
const MAX_NONCES = 10_000;
const nonces = new Set<string>();

export interface FeatureRoute {
  method: string;
  path: string;
  description: string;
}

export const FEATURE_ROUTES: readonly FeatureRoute[] = [
  { method: 'ANY', path: '/graphql', description: 'GraphQL (shop schema: item, items, addItem)' },
  { method: 'GET', path: '/cookies/set', description: 'sets each query parameter as a cookie' },
  { method: 'GET', path: '/cookies', description: 'JSON of the cookies the request carried' },
  { method: 'GET', path: '/auth/basic', description: 'Basic auth as salvo:secret, else 401' },
  {
    method: 'GET',
    path: '/auth/digest',
    description: 'Digest auth (MD5, qop=auth) as salvo:secret',
  },
  {
    method: 'GET',
    path: '/compressed/:enc',
    description: 'the /json document as gzip, deflate or br',
  },
  { method: 'POST', path: '/upload', description: 'JSON summary of a form or multipart body' },
];

type Req = IncomingMessage;
type Res = ServerResponse;

function json(
  res: Res,
  status: number,
  doc: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const body = Buffer.from(JSON.stringify(doc));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': body.length,
    ...headers,
  });
  res.end(body);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function digestChallenge(res: Res): void {
  const nonce = randomBytes(16).toString('hex');
  nonces.add(nonce);
  if (nonces.size > MAX_NONCES) {
    const oldest = nonces.values().next().value;
    if (oldest !== undefined) nonces.delete(oldest);
  }
  json(
    res,
    401,
    { error: 'digest credentials required' },
    {
      'www-authenticate': `Digest realm="${DIGEST_REALM}", qop="auth", algorithm=MD5, nonce="${nonce}", opaque="salvo"`,
    },
  );
}

function digestValid(req: Req): boolean {
  const header = req.headers.authorization ?? '';
  if (!/^digest /i.test(header)) return false;
  const p: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z]+)=(?:"([^"]*)"|([^\s,]+))/gi)) {
    p[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  if (p.nonce === undefined || !nonces.has(p.nonce) || p.username !== TARGET_USER.username)
    return false;
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const ha1 = md5(`${TARGET_USER.username}:${DIGEST_REALM}:${TARGET_USER.password}`);
  const ha2 = md5(`${req.method ?? 'GET'}:${p.uri ?? ''}`);
  const expected = md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:auth:${ha2}`);
  return p.response === expected && p.uri === req.url;
}

const COMPRESSED_DOC = Buffer.from(JSON.stringify({ compressed: true, items: [1, 2, 3] }));

function readBody(req: Req, res: Res, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_UPLOAD_BYTES) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_UPLOAD_BYTES) json(res, 413, { error: `body above ${MAX_UPLOAD_BYTES} bytes` });
    else then(Buffer.concat(chunks));
  });
}

/** Parses a form or multipart body with the platform's own FormData parser (undici). */
function upload(req: Req, res: Res): void {
  readBody(req, res, (body) => {
    const type = req.headers['content-type'] ?? '';
    new Response(body, { headers: { 'content-type': type } })
      .formData()
      .then(async (form) => {
        const fields: Record<string, string[]> = {};
        const files: Record<
          string,
          { filename: string; type: string; size: number; sha256: string }
        > = {};
        for (const [name, value] of form.entries()) {
          if (typeof value === 'string') (fields[name] ??= []).push(value);
          else {
            const bytes = Buffer.from(await value.arrayBuffer());
            files[name] = {
              filename: value.name,
              type: value.type,
              size: bytes.length,
              sha256: createHash('sha256').update(bytes).digest('hex'),
            };
          }
        }
        json(res, 200, { contentType: type.split(';')[0], fields, files });
      })
      .catch((error: unknown) =>
        json(res, 400, {
          error: `not a form body: ${error instanceof Error ? error.message : String(error)}`,
        }),
      );
  });
}

export function featureRoute(path: string, req: Req, res: Res): boolean {
  switch (path) {
    case '/graphql':
      handleGraphql(req, res);
      return true;
    case '/cookies/set': {
      const params = new URL(req.url ?? '/', 'http://target').searchParams;
      const cookies = [...params].map(([k, v]) => `${k}=${v}; Path=/; HttpOnly`);
      json(res, 200, { set: Object.fromEntries(params) }, { 'set-cookie': cookies });
      return true;
    }
    case '/cookies':
      json(res, 200, parseCookies(req.headers.cookie));
      return true;
    case '/auth/basic': {
      const expected = `Basic ${Buffer.from(`${TARGET_USER.username}:${TARGET_USER.password}`).toString('base64')}`;
      if (req.headers.authorization === expected) json(res, 200, { user: TARGET_USER.username });
      else
        json(
          res,
          401,
          { error: 'basic credentials required' },
          { 'www-authenticate': 'Basic realm="salvo-target"' },
        );
      return true;
    }
    case '/auth/digest':
      if (digestValid(req)) json(res, 200, { user: TARGET_USER.username });
      else digestChallenge(res);
      return true;
    case '/upload':
      upload(req, res);
      return true;
  }
  if (path.startsWith('/compressed/')) {
    const enc = path.slice('/compressed/'.length);
    const encoders: Record<string, (b: Buffer) => Buffer> = {
      gzip: gzipSync,
      deflate: deflateSync,
      br: brotliCompressSync,
    };
    const encode = encoders[enc];
    if (encode === undefined) {
      json(res, 400, {
        error: `/compressed/:enc takes gzip, deflate or br, got ${JSON.stringify(enc)}`,
      });
      return true;
    }
    const body = encode(COMPRESSED_DOC);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-encoding': enc,
      'content-length': body.length,
    });
    res.end(body);
    return true;
  }
  return false;
}
