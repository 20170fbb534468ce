// Owns durable storage under one data directory: append-only files (buffered appends written in
// order, `sync` = real fsync), atomic whole-file replacement (temp, fsync, rename, fsync dir),
// read, list, remove. File names are validated (no separators, no traversal). Never writes
// outside dataDir and never reports data durable before fsync returned.

import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AppendFile, Logger, Storage } from '../types.js';
import { InternalError } from '../../errors.js';

/** Letters, digits, '.', '_', '-'; not starting with '.'; at most this long. */
export const MAX_FILE_NAME_LENGTH = 200;
const VALID_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** Temp files of writeAtomic start with this (and are invisible to list()). */
const TEMP_PREFIX = '.tmp-';

export class InvalidFileNameError extends Error {
  readonly code = 'invalid_file_name';
  constructor(name: string) {
    super(
      `invalid storage file name ${JSON.stringify(name)}: use 1..${MAX_FILE_NAME_LENGTH} of [A-Za-z0-9._-], not starting with "."`,
    );
    this.name = 'InvalidFileNameError';
  }
}

export function validateFileName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_FILE_NAME_LENGTH ||
    !VALID_NAME.test(name)
  ) {
    throw new InvalidFileNameError(String(name));
  }
}

export class RealStorage implements Storage {
  private created: Promise<void> | null = null;

  constructor(
    readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  async openAppend(name: string): Promise<AppendFile> {
    const file = await this.pathOf(name);
    const handle = await fs.open(file, 'a+');
    const st = await handle.stat();
    // The file's directory entry must be durable too (a new file would vanish on crash otherwise).
    await this.syncDir();
    return new RealAppendFile(name, file, handle, st.size, this.log);
  }

  async writeAtomic(name: string, data: Uint8Array): Promise<void> {
    const file = await this.pathOf(name);
    const temp = path.join(this.dataDir, `${TEMP_PREFIX}${name}-${randomBytes(6).toString('hex')}`);
    let renamed = false;
    try {
      const handle = await fs.open(
        temp,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL,
        0o644,
      );
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, file);
      renamed = true;
      await this.syncDir();
    } finally {
      if (!renamed) await fs.rm(temp, { force: true });
    }
  }

  async readFile(name: string): Promise<Uint8Array | null> {
    const file = await this.pathOf(name);
    try {
      return await fs.readFile(file);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Removes `name`; removing a missing file is not an error. */
  async remove(name: string): Promise<void> {
    const file = await this.pathOf(name);
    await fs.rm(file, { force: true });
    await this.syncDir();
  }

  async list(): Promise<string[]> {
    await this.ensureDir();
    const entries = await fs.readdir(this.dataDir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.') && VALID_NAME.test(e.name))
      .map((e) => e.name)
      .sort();
  }

  private async pathOf(name: string): Promise<string> {
    validateFileName(name);
    await this.ensureDir();
    return path.join(this.dataDir, name);
  }

  private ensureDir(): Promise<void> {
    this.created ??= fs.mkdir(this.dataDir, { recursive: true }).then(() => undefined);
    return this.created;
  }

  private async syncDir(): Promise<void> {
    const dir = await fs.open(this.dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

/**
 * Appends are copied into a pending list and written by one ordered chain (several appends in a
 * tick become one write). A failed write poisons the file: later sync/read/truncate reject with
 * that error, because the durable prefix is no longer known.
 */
class RealAppendFile implements AppendFile {
  private size: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly file: string,
    private readonly handle: fs.FileHandle,
    initialSize: number,
    private readonly log: Logger,
  ) {
    this.size = initialSize;
  }

  get sizeBytes(): number {
    return this.size;
  }

  append(data: Uint8Array): void {
    if (this.closed) throw new InternalError(`append to closed file ${this.name}`);
    if (data.length === 0) return;
    this.pending.push(Uint8Array.prototype.slice.call(data));
    this.pendingBytes += data.length;
    this.size += data.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.capture());
    }
  }

  async sync(): Promise<void> {
    this.capture();
    this.enqueue(() => this.handle.sync());
    await this.settled();
  }

  async read(): Promise<Uint8Array> {
    this.capture();
    await this.settled();
    return fs.readFile(this.file);
  }

  async truncate(sizeBytes: number): Promise<void> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0)
      throw new InternalError(`truncate size must be a non-negative integer, got ${sizeBytes}`);
    this.capture();
    this.size = sizeBytes;
    this.enqueue(async () => {
      await this.handle.truncate(sizeBytes);
      await this.handle.sync();
    });
    await this.settled();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.capture();
    this.closed = true;
    try {
      await this.settled();
    } finally {
      await this.handle.close();
    }
  }

  /** Moves everything appended so far into one ordered write step (order = call order). */
  private capture(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const parts = this.pending;
    const total = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.enqueue(async () => {
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await this.handle.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.failure !== null) return;
      try {
        await step();
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.log.log('error', 'append file write failed; file is poisoned', {
          file: this.name,
          error: this.failure,
        });
      }
    });
  }

  private async settled(): Promise<void> {
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }
}
