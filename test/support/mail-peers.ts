// Test support: the SMTP sink (Debian's python3-aiosmtpd) and the FTP server (Debian's
// python3-pyftpdlib) as child processes on free loopback ports, with their files in temp dirs.
// Both run on /usr/bin/python3, where Debian's packages live (scripts/setup-protocols.sh).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.js';
import { TLS_CERT_PATH, TLS_KEY_PATH, freePort, startPeer, type PeerProcess } from './peers.js';

const PYTHON = '/usr/bin/python3';

/** Fails naming the setup script when Debian's Python module is missing. */
function requireModule(module: string, pkg: string): void {
  const probe = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`${pkg} is not installed: run scripts/setup-protocols.sh (it installs it)`);
  }
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:port` (AUTH salvo/secret accepted; STARTTLS with the test cert unless off). */
  readonly url: string;
  readonly port: number;
  /** The messages stored so far, raw, in arrival order. */
  messages(): string[];
  stop(): Promise<void>;
}

/** The sink; with `tls: false` it offers no STARTTLS (as a plain `python3 -m aiosmtpd`). */
export async function startSmtpSink(options: { tls?: boolean } = {}): Promise<SmtpSink> {
  requireModule('aiosmtpd', 'python3-aiosmtpd');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'salvo-smtp-'));
  const peer: PeerProcess = await startPeer(
    PYTHON,
    [
      join(ROOT, 'test', 'fixtures', 'peers', 'smtp_sink.py'),
      String(port),
      dir,
      ...(options.tls === false ? [] : [TLS_CERT_PATH, TLS_KEY_PATH]),
    ],
    port,
  );
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages: () =>
      readdirSync(dir)
        .map((f) => Number(f.replace('.eml', '')))
        .sort((a, b) => a - b)
        .map((n) => readFileSync(join(dir, `${n}.eml`), 'utf8')),
    stop: () => peer.stop(),
  };
}

export interface FtpServer {
  /** `ftp://salvo:secret@127.0.0.1:port` (write access to `root`). */
  readonly url: string;
  readonly port: number;
  /** The served directory. */
  readonly root: string;
  stop(): Promise<void>;
}

export async function startFtpServer(): Promise<FtpServer> {
  requireModule('pyftpdlib', 'python3-pyftpdlib');
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'salvo-ftp-'));
  const peer = await startPeer(
    PYTHON,
    [
      '-m',
      'pyftpdlib',
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-w',
      '-d',
      root,
      '-u',
      'salvo',
      '-P',
      'secret',
    ],
    port,
  );
  return { url: `ftp://salvo:secret@127.0.0.1:${port}`, port, root, stop: () => peer.stop() };
}
