// The request features both HTTP clients share above their core: body and credential options
// translated before sending, the Digest challenge answered with a second request, named and
// tagged requests reported to the VU's statistics, and `--http-debug` printing. Requests that
// use none of these never come through here (the clients' plain path is untouched).
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { describeError } from '../../errors.js';
import { ClientError, requestGroup, type RequestObserver } from '../client.js';
import { applyBodyFeatures, type FeatureOptions } from './bodies.js';
import { digestAuthorization, parseDigestChallenge } from './digest.js';

/** What the features need to know of a response. */
export interface FeatureResponse {
  readonly status: number;
  readonly url: string;
  header(name: string): string | undefined;
}

export interface SendOptions extends FeatureOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  json?: unknown;
}

/** True when `options` asks for anything the plain path does not do. */
export function needsFeatures(options: FeatureOptions | undefined): boolean {
  return (
    options !== undefined &&
    (options.form !== undefined ||
      options.multipart !== undefined ||
      options.auth !== undefined ||
      options.name !== undefined ||
      options.tags !== undefined)
  );
}

function failureOf(error: unknown): { kind: string; message: string } {
  const kind =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { kind?: unknown }).kind === 'string'
      ? (error as { kind: string }).kind
      : 'exception';
  return { kind, message: describeError(error) };
}

/** Sends through `send` with the features of `options` applied; see the module header. */
export async function sendWithFeatures<R extends FeatureResponse, O extends SendOptions>(
  protocol: string,
  send: (method: string, url: string, options: O) => Promise<R>,
  method: string,
  url: string,
  options: O,
  observe: RequestObserver | undefined,
): Promise<R> {
  const start = performance.now();
  const group =
    options.name !== undefined || options.tags !== undefined
      ? requestGroup(options.name, options.tags)
      : undefined;
  try {
    const plain = applyBodyFeatures(options, protocol, `${method} ${url}`);
    const digest = plain.auth;
    delete plain.auth;
    delete plain.name;
    delete plain.tags;
    let res = await send(method, url, plain);
    if (digest !== undefined && res.status === 401) {
      const challenge = parseDigestChallenge(res.header('www-authenticate'));
      if (challenge === null) {
        throw new ClientError(
          protocol,
          'auth',
          'the 401 response has no Digest challenge',
          res.url,
        );
      }
      const target = new URL(res.url);
      const authorization = digestAuthorization(
        challenge,
        digest.username,
        digest.password,
        method,
        target.pathname + target.search,
      );
      res = await send(method, url, { ...plain, headers: { ...plain.headers, authorization } });
    }
    if (group !== undefined && observe !== undefined) {
      const ok = res.status >= 200 && res.status < 400;
      observe(
        group,
        (performance.now() - start) * 1000,
        res.status,
        ok
          ? undefined
          : { kind: `status_${res.status}`, message: `${method} ${res.url} → ${res.status}` },
      );
    }
    return res;
  } catch (error) {
    if (group !== undefined && observe !== undefined) {
      observe(group, (performance.now() - start) * 1000, undefined, failureOf(error));
    }
    throw error;
  }
}

/** Bytes of a body `--http-debug` prints. */
export const DEBUG_BODY_BYTES = 512;

function preview(body: Buffer | string | Uint8Array | undefined): string {
  if (body === undefined || body.length === 0) return '';
  const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const text = buf.subarray(0, DEBUG_BODY_BYTES).toString('utf8');
  return `\n${text}${buf.length > DEBUG_BODY_BYTES ? `\n… (${buf.length} bytes in all)` : ''}`;
}

/** Prints a request and its response (or failure) for `--http-debug`. */
export function printDebug(
  protocol: string,
  method: string,
  url: string,
  requestHeaders: Record<string, string> | undefined,
  requestBody: string | Uint8Array | undefined,
  outcome: { status: number; headers: Record<string, string>; body: Buffer } | { error: unknown },
): void {
  const lines = [`> ${method} ${url} (${protocol})`];
  for (const [k, v] of Object.entries(requestHeaders ?? {})) lines.push(`> ${k}: ${v}`);
  let text = lines.join('\n') + preview(requestBody);
  if ('error' in outcome) text += `\n< failed: ${describeError(outcome.error)}`;
  else {
    const res = [`< ${outcome.status}`];
    for (const [k, v] of Object.entries(outcome.headers)) res.push(`< ${k}: ${v}`);
    text += `\n${res.join('\n')}${preview(outcome.body)}`;
  }
  process.stderr.write(`${text}\n\n`);
}
