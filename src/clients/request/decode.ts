// Response body decoding by Content-Encoding (gzip, x-gzip, deflate, br, and chains of them),
// for `text()`/`json()`/`decoded` of both HTTP clients. Sync zlib with a bounded output.
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { ClientError } from '../client.js';
import { MalformedDataError } from '../../errors.js';

/** Largest decoded body; a bigger one (a decompression bomb) fails with kind `body_too_large`. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

function decodeOne(body: Buffer, coding: string): Buffer {
  const opts = { maxOutputLength: MAX_DECODED_BYTES };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, opts);
    case 'deflate':
      // RFC 9110 says zlib-wrapped; some servers send raw deflate.
      return body.length > 0 && (body[0] ?? 0) % 16 === 8
        ? inflateSync(body, opts)
        : inflateRawSync(body, opts);
    case 'br':
      return brotliDecompressSync(body, opts);
    case 'identity':
    case '':
      return body;
    default:
      throw new MalformedDataError(`unsupported content-encoding '${coding}'`);
  }
}

/** `body` decoded per `contentEncoding` (codings applied in order are undone in reverse). */
export function decodeBody(
  body: Buffer,
  contentEncoding: string | undefined,
  protocol: string,
  target: string,
): Buffer {
  if (contentEncoding === undefined || contentEncoding === '' || body.length === 0) return body;
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .reverse();
  let out = body;
  for (const coding of codings) {
    try {
      out = decodeOne(out, coding);
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new ClientError(
        protocol,
        tooLarge ? 'body_too_large' : 'bad_response',
        tooLarge
          ? `decoded body above ${MAX_DECODED_BYTES} bytes`
          : `cannot decode ${coding} body: ${error instanceof Error ? error.message : String(error)}`,
        target,
        { cause: error },
      );
    }
  }
  return out;
}
