// `salvo ping` for SMTP and FTP: smtp:// and smtps:// open a session (EHLO, STARTTLS when
// offered, AUTH with credentials in the URL) and, with -d, send -d as a test message to the
// host's postmaster; ftp:// and ftps:// log in and list the URL's directory. Each prints what
// it measured and returns the exit code.
import { FtpClient } from '../clients/ftp/index.js';
import { SmtpClient } from '../clients/smtp/index.js';
import { EXIT } from '../errors.js';
import type { CliIo } from './main.js';

/** Entries of a listing shown by `salvo ping ftp://…`. */
const LIST_SHOWN = 20;

function ms(n: number): string {
  return `${n.toFixed(2)}ms`;
}

export async function pingSmtp(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const client = new SmtpClient({ timeoutMs });
  try {
    const session = await client.connect(url.href, {
      tls: { rejectUnauthorized: opts['insecure'] !== true },
    });
    const t = session.timings;
    const lines = [
      `SMTP session with ${url.host} in ${ms(t.connectMs)}${t.authMs > 0 ? `, AUTH accepted in ${ms(t.authMs)}` : ''}`,
    ];
    if (typeof opts['data'] === 'string') {
      const sent = await session.send({
        from: 'salvo-ping@localhost',
        to: `postmaster@${url.hostname}`,
        subject: 'salvo ping',
        text: opts['data'],
      });
      lines.push(
        `message of ${sent.bytes} bytes accepted for ${sent.accepted.join(', ') || 'nobody'} in ${ms(sent.sendMs)}: ${sent.response}`,
      );
    }
    await session.close();
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } finally {
    client.close();
  }
}

export async function pingFtp(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const client = new FtpClient({ timeoutMs });
  try {
    const session = await client.connect(url.href, {
      tls: { rejectUnauthorized: opts['insecure'] !== true },
    });
    const path = decodeURIComponent(url.pathname) || '/';
    const entries = await session.list(path);
    const lines = [
      `logged in to ${url.host} in ${ms(session.connectMs)}`,
      `${path}: ${entries.length} entries`,
      ...entries
        .slice(0, LIST_SHOWN)
        .map(
          (e) =>
            `  ${e.isDirectory ? 'dir ' : 'file'} ${e.name}${e.isDirectory ? '' : ` (${e.size} bytes)`}`,
        ),
    ];
    if (entries.length > LIST_SHOWN) lines.push(`  … ${entries.length - LIST_SHOWN} more`);
    await session.close();
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } finally {
    client.close();
  }
}
