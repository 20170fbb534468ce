// Simulated durable storage: per-node in-memory files whose synced prefix survives a crash
// (optionally with a torn partial last append). Never touches node:fs; durability is decided
// only by sync()/writeAtomic()/truncate() and the crash model here.

import type { AppendFile, Storage } from '../types.js';
import type { SimRng } from './rng.js';
import { InternalError } from '../../errors.js';

const INITIAL_FILE_CAPACITY_BYTES = 256;

/** One file's bytes. Invariant: the first `durableLength` bytes are what survives a crash. */
export class SimFile {
  private bytes = new Uint8Array(INITIAL_FILE_CAPACITY_BYTES);
  length = 0;
  durableLength = 0;
  /** Where the most recent append began (for the torn-tail model). */
  private lastAppendStart = 0;

  static withContent(data: Uint8Array): SimFile {
    const file = new SimFile();
    file.append(data);
    file.durableLength = file.length;
    return file;
  }

  append(data: Uint8Array): void {
    const needed = this.length + data.length;
    if (needed > this.bytes.length) {
      let capacity = this.bytes.length;
      while (capacity < needed) {
        capacity *= 2;
      }
      const grown = new Uint8Array(capacity);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.lastAppendStart = this.length;
    this.bytes.set(data, this.length);
    this.length = needed;
  }

  content(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** Marks everything up to `uptoBytes` (as long as it still exists) durable. */
  makeDurable(uptoBytes: number): void {
    this.durableLength = Math.max(this.durableLength, Math.min(uptoBytes, this.length));
  }

  truncate(sizeBytes: number): void {
    this.length = sizeBytes;
    this.durableLength = Math.min(this.durableLength, sizeBytes);
    this.lastAppendStart = Math.min(this.lastAppendStart, sizeBytes);
  }

  /**
   * The crash: unsynced bytes are lost. With `torn`, appends before the last unsynced one
   * survive whole and the last survives as a random strict prefix (1..n-1 bytes when n >= 2).
   */
  crash(torn: boolean, rng: SimRng): void {
    if (this.length <= this.durableLength) {
      this.length = this.durableLength;
      return;
    }
    let keep = this.durableLength;
    if (torn) {
      const cut = Math.max(this.durableLength, this.lastAppendStart);
      const lastBytes = this.length - cut;
      keep = lastBytes >= 2 ? cut + 1 + rng.int(lastBytes - 1) : cut;
    }
    this.length = keep;
    this.durableLength = keep;
    this.lastAppendStart = keep;
  }
}

/** A node's disk: it outlives the node's incarnations. */
export class SimDisk {
  readonly files = new Map<string, SimFile>();

  crash(torn: boolean, rng: SimRng): void {
    for (const file of this.files.values()) {
      file.crash(torn, rng);
    }
  }

  /** What a fresh boot would read (test inspection). */
  durableContent(name: string): Uint8Array | null {
    const file = this.files.get(name);
    return file === undefined ? null : file.content().slice(0, file.durableLength);
  }
}

/** What the storage needs from the simulation. */
export interface StorageHost {
  /** False once this runtime's incarnation has crashed. */
  alive(): boolean;
  /** Runs `fire` after the modelled fsync latency, on this node (deferred while paused). */
  afterFsync(what: string, fire: () => void): void;
}

function deadNode(): Error {
  return new Error('storage used by a crashed node incarnation');
}

class SimAppendFile implements AppendFile {
  private closed = false;

  constructor(
    readonly name: string,
    private readonly file: SimFile,
    private readonly host: StorageHost,
  ) {}

  get sizeBytes(): number {
    return this.file.length;
  }

  private check(): void {
    if (this.closed) {
      throw new InternalError(`append file ${this.name} is closed`);
    }
    if (!this.host.alive()) {
      throw deadNode();
    }
  }

  append(data: Uint8Array): void {
    this.check();
    this.file.append(data);
  }

  sync(): Promise<void> {
    this.check();
    const upto = this.file.length;
    return new Promise((resolve) => {
      this.host.afterFsync(`sync ${this.name} ${upto}B`, () => {
        this.file.makeDurable(upto);
        resolve();
      });
    });
  }

  async read(): Promise<Uint8Array> {
    this.check();
    return this.file.content();
  }

  truncate(sizeBytes: number): Promise<void> {
    this.check();
    if (!Number.isInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > this.file.length) {
      return Promise.reject(
        new InternalError(`truncate(${sizeBytes}) outside 0..${this.file.length} of ${this.name}`),
      );
    }
    this.file.truncate(sizeBytes);
    return new Promise((resolve) => {
      this.host.afterFsync(`truncate ${this.name} ${sizeBytes}B`, () => {
        this.file.makeDurable(sizeBytes);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The Runtime's view of a SimDisk for one incarnation. */
export class SimStorage implements Storage {
  constructor(
    private readonly disk: SimDisk,
    private readonly host: StorageHost,
  ) {}

  private check(): void {
    if (!this.host.alive()) {
      throw deadNode();
    }
  }

  async openAppend(name: string): Promise<AppendFile> {
    this.check();
    let file = this.disk.files.get(name);
    if (file === undefined) {
      file = new SimFile();
      this.disk.files.set(name, file);
    }
    return new SimAppendFile(name, file, this.host);
  }

  async writeAtomic(name: string, data: Uint8Array): Promise<void> {
    this.check();
    // Like rename over the old name: handles opened earlier keep the old file.
    this.disk.files.set(name, SimFile.withContent(data));
  }

  async readFile(name: string): Promise<Uint8Array | null> {
    this.check();
    const file = this.disk.files.get(name);
    return file === undefined ? null : file.content();
  }

  async remove(name: string): Promise<void> {
    this.check();
    this.disk.files.delete(name);
  }

  async list(): Promise<string[]> {
    this.check();
    return [...this.disk.files.keys()].sort();
  }
}
