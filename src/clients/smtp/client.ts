// SMTP client one VU drives (`ctx.smtp`): open a session (smtp:// with STARTTLS when offered,
// smtps:// for TLS from the start, optional AUTH), send messages, read the server's verdict.
// On nodemailer's SMTPConnection (the protocol, STARTTLS, AUTH methods, dot-stuffing) and
// MailComposer (MIME with attachments): well-kept and complete. Failures are ClientErrors:
// a server reply as `smtp_<code>` (`smtp_550`, `smtp_535`), otherwise a transport kind.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { ClientError, socketErrorKind, type ClientEnv, type VuClient } from '../client.js';

/** Open SMTP sessions per client (per VU). */
export const MAX_SMTP_SESSIONS = 16;
/** Largest message (after MIME encoding) one send may carry. */
export const MAX_SMTP_MESSAGE_BYTES = 32 * 1024 * 1024;

export interface SmtpAttachment {
  filename: string;
  content: string | Uint8Array;
  contentType?: string;
}

/** What to send: addresses, subject, a text and/or HTML body, attachments, extra headers. */
export interface SmtpMessage {
  from: string;
  to: string | readonly string[];
  cc?: string | readonly string[];
  bcc?: string | readonly string[];
  subject?: string;
  text?: string;
  html?: string;
  headers?: Readonly<Record<string, string>>;
  attachments?: readonly SmtpAttachment[];
}

export interface SmtpConnectOptions {
  /** AUTH credentials (also read from `smtp://user:pass@host`); method picked from EHLO if unset. */
  auth?: { user: string; pass: string; method?: 'PLAIN' | 'LOGIN' | 'CRAM-MD5' };
  /** STARTTLS on smtp://: use it when offered (default), insist on it, or never. */
  startTls?: 'opportunistic' | 'require' | 'never';
  tls?: { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
  /** The name this client gives in EHLO (default `salvo.local`). */
  clientName?: string;
  /** Connect, greeting and each command's reply; default: the workflow's request timeout. */
  timeoutMs?: number;
}

/** Phase timings of a session, in milliseconds. */
export interface SmtpSessionTimings {
  /** TCP (and TLS) connection, greeting, EHLO and STARTTLS. */
  readonly connectMs: number;
  /** AUTH; 0 without credentials. */
  readonly authMs: number;
}

/** What the server said to one message. */
export class SmtpSent {
  constructor(
    /** Recipients the server accepted. */
    readonly accepted: readonly string[],
    /** Recipients it refused (the message went to the others). */
    readonly rejected: readonly string[],
    /** The server's final reply, e.g. `250 OK queued as …`. */
    readonly response: string,
    /** The Message-ID header sent. */
    readonly messageId: string,
    /** Size of the message on the wire (MIME encoded). */
    readonly bytes: number,
    /** From MAIL FROM to the final reply. */
    readonly sendMs: number,
  ) {}
}

type NodemailerError = Error & { code?: string; responseCode?: number; response?: string };

/** The stable kind of a nodemailer failure. */
export function smtpErrorKind(error: unknown): string {
  const e = error as NodemailerError;
  if (typeof e?.responseCode === 'number' && e.responseCode >= 400) return `smtp_${e.responseCode}`;
  switch (e?.code) {
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNECTION':
      return 'connection_closed';
    case 'ETLS':
    case 'EREQUIRETLS':
      return 'tls';
    case 'EAUTH':
    case 'ENOAUTH':
      return 'auth';
    case 'EENVELOPE':
      return 'envelope';
    case 'EPROTOCOL':
      return 'bad_response';
    case 'EDNS':
      return 'dns';
    case 'EMESSAGE':
      return 'message';
    default: {
      // nodemailer keeps the socket's own code (ECONNREFUSED, a TLS code) as originalCode.
      const original = (e as { originalCode?: unknown } | undefined)?.originalCode;
      const fromSocket = socketErrorKind(
        typeof original === 'string'
          ? { code: original }
          : ((e as { cause?: unknown })?.cause ?? e),
      );
      if (fromSocket !== 'network') return fromSocket;
      if (/ECONNREFUSED/.test(e?.message ?? '')) return 'connect_refused';
      return 'network';
    }
  }
}

function asList(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

/**
 * nodemailer reports some failures through a call's callback and others (socket, timeout,
 * unexpected close) as an `error` event: this routes both to the one operation waiting, under
 * a deadline, so every call settles.
 */
class Wire {
  private waiting: ((error: Error) => void) | null = null;
  /** The first `error` event seen while nothing waited; it fails the next call. */
  private lost: Error | null = null;

  constructor(readonly conn: SMTPConnection) {
    conn.on('error', (error: Error) => {
      const waiting = this.waiting;
      if (waiting !== null) waiting(error);
      else this.lost ??= error;
    });
  }

  /** Runs `start`, settling on its callback, an `error` event, or `timeoutMs`. */
  call<T>(
    timeoutMs: number,
    onTimeout: () => ClientError,
    toError: (error: unknown) => ClientError,
    start: (done: (error: Error | null | undefined, value?: T) => void) => void,
  ): Promise<T> {
    if (this.lost !== null) return Promise.reject(toError(this.lost));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (error: ClientError | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiting = null;
        if (error !== null) reject(error);
        else resolve(value as T);
      };
      const timer = setTimeout(() => {
        this.conn.close();
        settle(onTimeout());
      }, timeoutMs);
      this.waiting = (error) => settle(toError(error));
      start((error, value) => settle(error ? toError(error) : null, value));
    });
  }
}

/** One SMTP session: send messages one after another, then close (QUIT). */
export class SmtpSession {
  private busy = false;
  private ended = false;

  /** @internal made by SmtpClient.connect. */
  constructor(
    private readonly wire: Wire,
    readonly target: string,
    readonly timings: SmtpSessionTimings,
    private readonly timeoutMs: number,
    private readonly owner: Set<SmtpSession>,
  ) {
    wire.conn.on('end', () => {
      this.ended = true;
      owner.delete(this);
    });
  }

  private get conn(): SMTPConnection {
    return this.wire.conn;
  }

  private fail(kind: string, message: string, cause?: unknown): ClientError {
    return new ClientError('smtp', kind, message, this.target, { cause });
  }

  /** Composes `message` (MIME) and sends it; rejects with `smtp_<code>` when the server refuses it. */
  async send(message: SmtpMessage): Promise<SmtpSent> {
    if (this.ended) throw this.fail('closed', 'the session is closed');
    if (this.busy)
      throw this.fail('bad_request', 'a message is already being sent on this session');
    const to = asList(message.to);
    const cc = asList(message.cc);
    const bcc = asList(message.bcc);
    if (to.length + cc.length + bcc.length === 0) {
      throw this.fail('bad_request', 'the message has no recipient (to, cc or bcc)');
    }
    const composer = new MailComposer({
      from: message.from,
      to,
      cc,
      bcc,
      subject: message.subject,
      text: message.text,
      html: message.html,
      headers: message.headers ? { ...message.headers } : undefined,
      attachments: (message.attachments ?? []).map((a) => ({
        filename: a.filename,
        content: typeof a.content === 'string' ? a.content : Buffer.from(a.content),
        contentType: a.contentType,
      })),
    });
    const node = composer.compile();
    const envelope = node.getEnvelope();
    const messageId = node.messageId();
    const raw = await new Promise<Buffer>((resolve, reject) =>
      node.build((error, built) => (error ? reject(error) : resolve(built))),
    ).catch((error: unknown) => {
      throw this.fail('bad_request', `the message could not be built: ${String(error)}`, error);
    });
    if (raw.length > MAX_SMTP_MESSAGE_BYTES) {
      throw this.fail(
        'bad_request',
        `the message is ${raw.length} bytes, more than ${MAX_SMTP_MESSAGE_BYTES}`,
      );
    }
    this.busy = true;
    const since = performance.now();
    try {
      const info = await this.wire.call<{
        accepted?: unknown[];
        rejected?: unknown[];
        response?: unknown;
      }>(
        this.timeoutMs,
        () => this.fail('timeout', `no final reply within ${this.timeoutMs}ms`),
        (error) =>
          error instanceof ClientError
            ? error
            : this.fail(smtpErrorKind(error), (error as Error).message, error),
        (done) =>
          this.conn.send(
            { from: envelope.from, to: envelope.to, size: raw.length },
            raw,
            (error, sent) => done(error, sent),
          ),
      );
      return new SmtpSent(
        (info.accepted ?? []).map(String),
        (info.rejected ?? []).map(String),
        typeof info.response === 'string' ? info.response : '',
        messageId,
        raw.length,
        performance.now() - since,
      );
    } finally {
      this.busy = false;
    }
  }

  /** Says QUIT and closes; resolves once the connection ended (or after the timeout). */
  close(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.conn.close();
        resolve();
      }, this.timeoutMs);
      this.conn.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
      this.conn.quit();
    });
  }

  /** @internal drops the connection at once (VU end). */
  destroy(): void {
    this.ended = true;
    this.conn.close();
  }
}

/** `smtp://[user:pass@]host[:port]` or `smtps://…` → connection settings. */
export function parseSmtpUrl(address: string): {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string } | undefined;
} {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `smtp://${address}`);
  } catch (error) {
    throw new ClientError(
      'smtp',
      'bad_request',
      `invalid address ${JSON.stringify(address)}`,
      address,
      {
        cause: error,
      },
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ClientError(
      'smtp',
      'bad_request',
      `unsupported scheme ${url.protocol} (use smtp:// or smtps://)`,
      address,
    );
  }
  const secure = url.protocol === 'smtps:';
  const port = url.port === '' ? (secure ? 465 : 25) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '')
    throw new ClientError('smtp', 'bad_request', 'the address needs a host', address);
  const auth =
    url.username !== ''
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined;
  return { host, port, secure, auth };
}

/**
 * @example
 * .step('mail', async ({ smtp }) => {
 *   const session = await smtp.connect('smtp://127.0.0.1:8025');
 *   const sent = await session.send({ from: 'load@example.com', to: 'ops@example.com', subject: 'hi', text: 'hello' });
 *   await session.close();
 *   return sent.accepted.length;
 * })
 */
export class SmtpClient implements VuClient {
  private readonly open = new Set<SmtpSession>();
  private closed = false;

  constructor(private readonly env: Pick<ClientEnv, 'timeoutMs'>) {}

  /** Connects, greets (EHLO, STARTTLS as asked) and authenticates; see SmtpConnectOptions. */
  async connect(address: string, options: SmtpConnectOptions = {}): Promise<SmtpSession> {
    const target = parseSmtpUrl(address);
    if (this.closed) throw new ClientError('smtp', 'closed', 'the client was closed', address);
    if (this.open.size >= MAX_SMTP_SESSIONS) {
      throw new ClientError(
        'smtp',
        'too_many_connections',
        `more than ${MAX_SMTP_SESSIONS} sessions in one VU`,
        address,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.env.timeoutMs;
    const startTls = options.startTls ?? 'opportunistic';
    const t = options.tls ?? {};
    const conn = new SMTPConnection({
      host: target.host,
      port: target.port,
      secure: target.secure,
      ignoreTLS: startTls === 'never',
      requireTLS: startTls === 'require',
      opportunisticTLS: startTls === 'opportunistic',
      name: options.clientName ?? 'salvo.local',
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      socketCloseTimeout: 0,
      tls: {
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.servername !== undefined
          ? { servername: t.servername }
          : net.isIP(target.host)
            ? {}
            : { servername: target.host }),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      },
      logger: false,
    });
    const fail = (error: unknown): ClientError => {
      if (error instanceof ClientError) return error;
      const kind = smtpErrorKind(error);
      // A timeout before the session is up (connect, greeting, EHLO) is a connect timeout.
      return new ClientError(
        'smtp',
        kind === 'timeout' ? 'connect_timeout' : kind,
        (error as Error).message,
        address,
        { cause: error },
      );
    };
    const wire = new Wire(conn);
    const start = performance.now();
    try {
      await wire.call<void>(
        timeoutMs,
        () =>
          new ClientError(
            'smtp',
            'connect_timeout',
            `not connected within ${timeoutMs}ms`,
            address,
          ),
        fail,
        (done) => conn.connect(() => done(null)),
      );
      const connectMs = performance.now() - start;
      const auth = options.auth ?? target.auth;
      let authMs = 0;
      if (auth !== undefined) {
        const authStart = performance.now();
        await wire.call<void>(
          timeoutMs,
          () =>
            new ClientError('smtp', 'timeout', `AUTH not answered within ${timeoutMs}ms`, address),
          fail,
          (done) =>
            conn.login(
              {
                user: auth.user,
                pass: auth.pass,
                ...(options.auth?.method ? { method: options.auth.method } : {}),
              },
              (error) => done(error),
            ),
        );
        authMs = performance.now() - authStart;
      }
      if (this.closed) throw new ClientError('smtp', 'closed', 'the client was closed', address);
      const session = new SmtpSession(wire, address, { connectMs, authMs }, timeoutMs, this.open);
      this.open.add(session);
      return session;
    } catch (error) {
      conn.close();
      throw fail(error);
    }
  }

  /** One message in its own session: connect, send, QUIT. */
  async send(
    address: string,
    message: SmtpMessage,
    options: SmtpConnectOptions = {},
  ): Promise<SmtpSent> {
    const session = await this.connect(address, options);
    try {
      return await session.send(message);
    } finally {
      await session.close();
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}

/** Offered to steps as `ctx.smtp`. */
export const smtpKind = {
  name: 'smtp' as const,
  create(env: ClientEnv): SmtpClient {
    return new SmtpClient(env);
  },
};
