// Test support for the real runtime: temp data dirs, runtimes on 127.0.0.1:0 with a captured
// log, and a raw TCP client that speaks framing directly (to send broken bytes on purpose).
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrameDecoder, encodeFrame, type FrameEvent } from '../../../src/protocol/framing.js';
import { MessageRegistry, type AnyMessage } from '../../../src/protocol/messages.js';
import { encodeValue } from '../../../src/protocol/codec.js';
import {
  createRealRuntime,
  type RealRuntime,
  type RealRuntimeOptions,
  type TlsMaterial,
} from '../../../src/runtime/real/index.js';
import type { NodeAddress } from '../../../src/runtime/types.js';

export const LOOPBACK: NodeAddress = { host: '127.0.0.1', port: 0 };

export async function tempDir(
  label: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `salvo-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function runtime(
  nodeId: string,
  dataDir: string,
  over: Partial<RealRuntimeOptions> = {},
): RealRuntime & { lines: string[] } {
  const lines: string[] = [];
  const rt = createRealRuntime({
    nodeId,
    streamAddress: LOOPBACK,
    dataDir,
    seed: 42,
    logLevel: 'debug',
    logSink: (l) => lines.push(l),
    ...over,
  });
  return Object.assign(rt, { lines });
}

export function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

/** A raw framed TCP client: write any bytes, read decoded messages/errors back. */
export class RawClient {
  readonly events: FrameEvent[] = [];
  readonly messages: AnyMessage[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private readonly registry = new MessageRegistry();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) =>
      this.decoder.push(chunk, (e) => {
        this.events.push(e);
        if (e.kind === 'frame') {
          const r = this.registry.decode(e.body);
          this.messages.push(r.ok ? r.message : (r.error as unknown as AnyMessage));
        }
      }),
    );
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  /**
   * Connects over TCP, or over mutual TLS with `tls` (the server is verified against its CA but
   * not by host name, as nodes do). `localAddress` picks the source (e.g. 127.0.0.2).
   */
  static connect(
    to: NodeAddress,
    opts: { tls?: TlsMaterial; localAddress?: string } = {},
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const material = opts.tls;
      const local = opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {};
      const s =
        material === undefined
          ? net.connect({ port: to.port, host: to.host, ...local }, () => resolve(new RawClient(s)))
          : tls.connect(
              {
                port: to.port,
                host: to.host,
                ...local,
                key: material.key,
                cert: material.cert,
                ca: material.ca,
                checkServerIdentity: () => undefined,
              },
              () => resolve(new RawClient(s)),
            );
      s.once('error', reject);
    });
  }

  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
  sendValue(v: unknown): void {
    this.socket.write(encodeFrame(encodeValue(v)));
  }
  async waitMessage(pred: (m: AnyMessage) => boolean, timeoutMs = 3000): Promise<AnyMessage> {
    await waitFor(() => this.messages.some(pred), timeoutMs, 'a matching message');
    return this.messages.find(pred)!;
  }
  close(): void {
    this.socket.destroy();
  }
}
