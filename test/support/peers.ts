// Test support for protocol clients: Debian peer binaries (missing ones fail naming the setup
// script), free loopback ports, a child-process peer stopped at the end, the test TLS pair.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT } from './cli.js';
import { startTargetServer, type TargetServer } from '../../src/target/server.js';
import { startProtocolPeers, type ProtocolPeers } from '../../src/target/peers.js';

export const TLS_KEY = readFileSync(join(ROOT, 'test', 'fixtures', 'tls', 'localhost-key.pem'));
export const TLS_CERT = readFileSync(join(ROOT, 'test', 'fixtures', 'tls', 'localhost-cert.pem'));
export const TLS_KEY_PATH = join(ROOT, 'test', 'fixtures', 'tls', 'localhost-key.pem');
export const TLS_CERT_PATH = join(ROOT, 'test', 'fixtures', 'tls', 'localhost-cert.pem');

/** The absolute path of `name`, or an error naming the script that installs it. */
export function requireBinary(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(`'${name}' is not installed: run scripts/setup-protocols.sh (it installs it)`);
  }
  return path;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on port ${port} after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PeerProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `command` and waits until it accepts connections on `port`. */
export async function startPeer(
  command: string,
  args: string[],
  port: number,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<PeerProcess> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  child.stderr?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const peer: PeerProcess = {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`${command} exited before listening: ${out}`);
      }),
    ]);
  } catch (error) {
    await peer.stop();
    throw error;
  }
  return peer;
}

/** The embedded target and its protocol peers on free loopback ports, for one test file. */
export async function startTargetWithPeers(): Promise<{
  target: TargetServer;
  peers: ProtocolPeers;
  close: () => Promise<void>;
}> {
  const target = await startTargetServer({ port: 0 });
  const peers = await startProtocolPeers();
  return {
    target,
    peers,
    close: async () => {
      await target.close();
      await peers.close();
    },
  };
}
