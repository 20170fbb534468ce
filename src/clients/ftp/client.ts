// FTP client one VU drives (`ctx.ftp`): log in (ftp://, FTPS with `ftps://` or explicit TLS),
// upload and download files, list, size and remove. On basic-ftp (passive mode, FTPS, listing
// parsers): well-kept, promise-based. Downloads are kept in memory up to a bound. Failures are
// ClientErrors: a server reply as `ftp_<code>` (`ftp_550`, `ftp_530`), otherwise a transport kind.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { Client as BasicFtp, FTPError } from 'basic-ftp';
import { ClientError, socketErrorKind, type ClientEnv, type VuClient } from '../client.js';

/** Open FTP sessions per client (per VU). */
export const MAX_FTP_SESSIONS = 8;
/** Largest file one download keeps in memory; beyond it the download fails with `too_large`. */
export const MAX_FTP_DOWNLOAD_BYTES = 64 * 1024 * 1024;

export interface FtpConnectOptions {
  /** Credentials (also read from `ftp://user:pass@host`); default anonymous. */
  user?: string;
  password?: string;
  /** FTPS: explicit TLS (AUTH TLS) with true; `ftps://` means implicit TLS. */
  secure?: boolean;
  tls?: { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
  /** Each command's reply and each transfer's inactivity; default: the workflow's request timeout. */
  timeoutMs?: number;
}

/** What an upload or a download moved, and how long it took. */
export class FtpTransfer {
  constructor(
    readonly path: string,
    readonly bytes: number,
    /** From the transfer command to the server's final reply. */
    readonly transferMs: number,
    /** The server's final reply, e.g. `226 Transfer complete.` */
    readonly response: string,
  ) {}
}

/** A downloaded file: its bytes, with the transfer's figures. */
export class FtpDownload extends FtpTransfer {
  constructor(
    path: string,
    readonly data: Buffer,
    transferMs: number,
    response: string,
  ) {
    super(path, data.length, transferMs, response);
  }
  text(): string {
    return this.data.toString('utf8');
  }
}

/** The stable kind of a basic-ftp failure. */
export function ftpErrorKind(error: unknown): string {
  if (error instanceof FTPError) return `ftp_${error.code}`;
  const message = error instanceof Error ? error.message : String(error);
  if (/^Timeout/.test(message)) return 'timeout';
  if (/closed|FIN packet/i.test(message)) return 'connection_closed';
  return socketErrorKind(error);
}

/** One logged-in FTP session. */
export class FtpSession {
  private ended = false;

  /** @internal made by FtpClient.connect. */
  constructor(
    private readonly ftp: BasicFtp,
    readonly target: string,
    /** Connect, greeting, TLS and login. */
    readonly connectMs: number,
    private readonly owner: Set<FtpSession>,
  ) {}

  private wrap(error: unknown, what: string): ClientError {
    if (error instanceof ClientError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new ClientError('ftp', ftpErrorKind(error), `${what}: ${message}`, this.target, {
      cause: error,
    });
  }

  private check(): void {
    if (this.ended || this.ftp.closed) {
      throw new ClientError('ftp', 'closed', 'the session is closed', this.target);
    }
  }

  /** Stores `data` at `path` (STOR). */
  async upload(path: string, data: string | Uint8Array): Promise<FtpTransfer> {
    this.check();
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    const since = performance.now();
    try {
      const res = await this.ftp.uploadFrom(Readable.from([bytes]), path);
      return new FtpTransfer(path, bytes.length, performance.now() - since, res.message);
    } catch (error) {
      throw this.wrap(error, `upload of ${path}`);
    }
  }

  /** Fetches `path` (RETR) into memory, up to MAX_FTP_DOWNLOAD_BYTES. */
  async download(path: string): Promise<FtpDownload> {
    this.check();
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done): void {
        size += chunk.length;
        if (size > MAX_FTP_DOWNLOAD_BYTES) {
          overflow = true;
          done(new Error(`more than ${MAX_FTP_DOWNLOAD_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
        done();
      },
    });
    const since = performance.now();
    try {
      const res = await this.ftp.downloadTo(sink, path);
      return new FtpDownload(path, Buffer.concat(chunks), performance.now() - since, res.message);
    } catch (error) {
      if (overflow) {
        throw new ClientError(
          'ftp',
          'too_large',
          `download of ${path}: more than ${MAX_FTP_DOWNLOAD_BYTES} bytes`,
          this.target,
        );
      }
      throw this.wrap(error, `download of ${path}`);
    }
  }

  /** Names in `path` (default: the working directory). */
  async list(path?: string): Promise<{ name: string; size: number; isDirectory: boolean }[]> {
    this.check();
    try {
      const entries = await this.ftp.list(path);
      return entries.map((e) => ({ name: e.name, size: e.size, isDirectory: e.isDirectory }));
    } catch (error) {
      throw this.wrap(error, `list of ${path ?? '.'}`);
    }
  }

  /** The size of `path` in bytes (SIZE). */
  async size(path: string): Promise<number> {
    this.check();
    try {
      return await this.ftp.size(path);
    } catch (error) {
      throw this.wrap(error, `size of ${path}`);
    }
  }

  /** Deletes `path` (DELE). */
  async remove(path: string): Promise<void> {
    this.check();
    try {
      await this.ftp.remove(path);
    } catch (error) {
      throw this.wrap(error, `remove of ${path}`);
    }
  }

  /** Says QUIT and closes the control and data connections. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.owner.delete(this);
    try {
      if (!this.ftp.closed) await this.ftp.send('QUIT');
    } catch (error) {
      // A server may hang up right after its QUIT reply; only an answer that refuses QUIT fails.
      if (error instanceof FTPError) throw this.wrap(error, 'QUIT');
    } finally {
      this.ftp.close();
    }
  }

  /** @internal drops the connections at once (VU end). */
  destroy(): void {
    this.ended = true;
    this.ftp.close();
  }
}

/** `ftp://[user:pass@]host[:port]` or `ftps://…` → connection settings. */
export function parseFtpUrl(address: string): {
  host: string;
  port: number;
  implicitTls: boolean;
  user: string | undefined;
  password: string | undefined;
  path: string;
} {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `ftp://${address}`);
  } catch (error) {
    throw new ClientError(
      'ftp',
      'bad_request',
      `invalid address ${JSON.stringify(address)}`,
      address,
      {
        cause: error,
      },
    );
  }
  if (url.protocol !== 'ftp:' && url.protocol !== 'ftps:') {
    throw new ClientError(
      'ftp',
      'bad_request',
      `unsupported scheme ${url.protocol} (use ftp:// or ftps://)`,
      address,
    );
  }
  const implicitTls = url.protocol === 'ftps:';
  const port = url.port === '' ? (implicitTls ? 990 : 21) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new ClientError('ftp', 'bad_request', 'the address needs a host', address);
  return {
    host,
    port,
    implicitTls,
    user: url.username !== '' ? decodeURIComponent(url.username) : undefined,
    password: url.username !== '' ? decodeURIComponent(url.password) : undefined,
    path: decodeURIComponent(url.pathname),
  };
}

/**
 * @example
 * .step('files', async ({ ftp }) => {
 *   const session = await ftp.connect('ftp://user:secret@127.0.0.1:2121');
 *   await session.upload('report.csv', 'a,b\n1,2\n');
 *   const file = await session.download('report.csv');
 *   await session.close();
 *   return file.text();
 * })
 */
export class FtpClient implements VuClient {
  private readonly open = new Set<FtpSession>();
  private closed = false;

  constructor(private readonly env: Pick<ClientEnv, 'timeoutMs'>) {}

  /** Connects and logs in; see FtpConnectOptions. */
  async connect(address: string, options: FtpConnectOptions = {}): Promise<FtpSession> {
    const target = parseFtpUrl(address);
    if (this.closed) throw new ClientError('ftp', 'closed', 'the client was closed', address);
    if (this.open.size >= MAX_FTP_SESSIONS) {
      throw new ClientError(
        'ftp',
        'too_many_connections',
        `more than ${MAX_FTP_SESSIONS} sessions in one VU`,
        address,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.env.timeoutMs;
    const ftp = new BasicFtp(timeoutMs);
    const t = options.tls ?? {};
    const start = performance.now();
    // basic-ftp bounds each command and transfer by `timeoutMs`; this bounds the whole login.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ftp.access({
          host: target.host,
          port: target.port,
          user: options.user ?? target.user ?? 'anonymous',
          password: options.password ?? target.password ?? 'salvo@',
          secure: target.implicitTls ? 'implicit' : (options.secure ?? false),
          secureOptions: {
            ...(t.ca !== undefined ? { ca: t.ca } : {}),
            ...(t.servername !== undefined ? { servername: t.servername } : {}),
            rejectUnauthorized: t.rejectUnauthorized ?? true,
          },
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ClientError(
                  'ftp',
                  'connect_timeout',
                  `not logged in within ${timeoutMs}ms`,
                  address,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      ftp.close();
      if (error instanceof ClientError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const kind = ftpErrorKind(error);
      // A timeout before the login is done (connect, greeting, TLS, USER/PASS) is a connect timeout.
      throw new ClientError(
        'ftp',
        kind === 'timeout' ? 'connect_timeout' : kind,
        message,
        address,
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(timer);
    }
    if (this.closed) {
      ftp.close();
      throw new ClientError('ftp', 'closed', 'the client was closed', address);
    }
    const session = new FtpSession(ftp, address, performance.now() - start, this.open);
    this.open.add(session);
    return session;
  }

  close(): void {
    this.closed = true;
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}

/** Offered to steps as `ctx.ftp`. */
export const ftpKind = {
  name: 'ftp' as const,
  create(env: ClientEnv): FtpClient {
    return new FtpClient(env);
  },
};
