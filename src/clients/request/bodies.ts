// Request bodies and credentials both HTTP clients accept besides `body`/`json`: form-urlencoded
// fields, multipart/form-data with files, and basic auth. Pure: turns options into headers and
// bytes; never does I/O (a file part is bytes the workflow read itself, e.g. with `open()` in
// setup, so the hot path never touches the disk).
import { randomBytes } from 'node:crypto';
import { ClientError } from '../client.js';

export type FormValue = string | number | boolean;
/** Fields of an application/x-www-form-urlencoded body; arrays repeat the name. */
export type FormFields = Record<string, FormValue | readonly FormValue[]>;

/** One file of a multipart body. */
export interface FilePart {
  data: string | Uint8Array;
  filename?: string;
  /** Default application/octet-stream. */
  contentType?: string;
}
/** Fields of a multipart/form-data body: text values or files. */
export type MultipartFields = Record<
  string,
  FormValue | FilePart | readonly (FormValue | FilePart)[]
>;

export interface AuthOptions {
  username: string;
  password: string;
  /** Default 'basic'. Digest answers the server's 401 challenge (RFC 7616, MD5/SHA-256, qop auth). */
  type?: 'basic' | 'digest';
}

/** What request features add to the HTTP clients' request options. */
export interface FeatureOptions {
  /** Sent as application/x-www-form-urlencoded. */
  form?: FormFields;
  /** Sent as multipart/form-data (files as FilePart). */
  multipart?: MultipartFields;
  auth?: AuthOptions;
  /**
   * Groups this request's statistics under `http{name:<name>,<tag>:<value>…}` (thresholds can
   * name that group). Default: not grouped apart from its step.
   */
  name?: string;
  tags?: Record<string, string>;
}

export function encodeForm(fields: FormFields): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) for (const v of value as FormValue[]) params.append(name, String(v));
    else params.append(name, String(value));
  }
  return params.toString();
}

function isFilePart(value: unknown): value is FilePart {
  return typeof value === 'object' && value !== null && 'data' in value;
}

function quoted(value: string): string {
  return value.replace(/["\\\r\n]/g, (c) => (c === '"' ? '%22' : c === '\\' ? '\\\\' : ' '));
}

/** Encodes `fields` as multipart/form-data; returns the body and its content type. */
export function encodeMultipart(fields: MultipartFields): { body: Buffer; contentType: string } {
  const boundary = `----salvo${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const [name, raw] of Object.entries(fields)) {
    const values = Array.isArray(raw)
      ? (raw as (FormValue | FilePart)[])
      : [raw as FormValue | FilePart];
    for (const value of values) {
      let head = `--${boundary}\r\ncontent-disposition: form-data; name="${quoted(name)}"`;
      let data: Buffer;
      if (isFilePart(value)) {
        head += `; filename="${quoted(value.filename ?? name)}"\r\ncontent-type: ${value.contentType ?? 'application/octet-stream'}`;
        data = typeof value.data === 'string' ? Buffer.from(value.data) : Buffer.from(value.data);
      } else {
        data = Buffer.from(String(value));
      }
      chunks.push(Buffer.from(`${head}\r\n\r\n`), data, Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function basicAuthorization(auth: AuthOptions): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** True when `options` uses a feature that needs translating before the client sends it. */
export function hasBodyFeatures(options: FeatureOptions | undefined): boolean {
  return (
    options !== undefined &&
    (options.form !== undefined || options.multipart !== undefined || options.auth !== undefined)
  );
}

/**
 * The same options with `form`/`multipart`/basic `auth` turned into `body` and headers
 * (digest auth is left to the client: it needs the server's challenge first).
 */
export function applyBodyFeatures<
  O extends FeatureOptions & {
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    json?: unknown;
  },
>(options: O, protocol: string, target: string): O {
  const out: O = { ...options, headers: { ...options.headers } };
  const headers = out.headers as Record<string, string>;
  const has = (name: string): boolean => Object.keys(headers).some((k) => k.toLowerCase() === name);
  const given = [options.form, options.multipart, options.body, options.json].filter(
    (x) => x !== undefined,
  );
  if (given.length > 1) {
    throw new ClientError(
      protocol,
      'bad_request',
      'give only one of body, json, form and multipart',
      target,
    );
  }
  if (options.form !== undefined) {
    out.body = encodeForm(options.form);
    if (!has('content-type')) headers['content-type'] = 'application/x-www-form-urlencoded';
    delete out.form;
  } else if (options.multipart !== undefined) {
    const { body, contentType } = encodeMultipart(options.multipart);
    out.body = body;
    headers['content-type'] = contentType;
    delete out.multipart;
  }
  if (options.auth !== undefined && (options.auth.type ?? 'basic') === 'basic') {
    if (typeof options.auth.username !== 'string' || typeof options.auth.password !== 'string') {
      throw new ClientError(
        protocol,
        'bad_request',
        'auth needs a username and a password string',
        target,
      );
    }
    headers.authorization = basicAuthorization(options.auth);
    delete out.auth;
  } else if (options.auth !== undefined && options.auth.type !== 'digest') {
    throw new ClientError(
      protocol,
      'bad_request',
      `auth.type must be 'basic' or 'digest', got ${JSON.stringify(options.auth.type)}`,
      target,
    );
  }
  return out;
}
