// Owns the gossip key file of a certs directory: `gossip.key`, one base64 32-byte key per line,
// the first the primary (it seals; every line opens, for rotation). Reads it into a keyring,
// refusing a file that group or others may read; writes it with mode 0600. Never seals anything.

import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  GOSSIP_KEY_BYTES,
  GossipKeyError,
  GossipKeyring,
  MAX_GOSSIP_KEYS,
} from '../../nodes/membership/seal.js';

export const GOSSIP_KEY_FILE = 'gossip.key';
const GOSSIP_KEY_MODE = 0o600;

/** A fresh random gossip key. */
export const newGossipKey = (): Buffer => randomBytes(GOSSIP_KEY_BYTES);

/** Parses the text of a gossip key file (`where` names it in errors). */
export function parseGossipKeyFile(text: string, where: string): GossipKeyring {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const keys = lines.map((line, i) => {
    const key = Buffer.from(line, 'base64');
    if (key.length !== GOSSIP_KEY_BYTES || key.toString('base64') !== line)
      throw new GossipKeyError(
        `${where} line ${i + 1}: expected the base64 of ${GOSSIP_KEY_BYTES} bytes (create it with \`salvo certs create-gossip-key\`)`,
      );
    return key;
  });
  try {
    return new GossipKeyring(keys);
  } catch (err) {
    if (err instanceof GossipKeyError) throw new GossipKeyError(`${where}: ${err.message}`);
    throw err;
  }
}

/** Reads `<dir>/gossip.key` into a keyring. */
export function loadGossipKeyring(dir: string): GossipKeyring {
  const file = path.join(dir, GOSSIP_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GossipKeyError(
      `cannot read ${file}: ${err instanceof Error ? err.message : String(err)} (create it with \`salvo certs create-gossip-key\`)`,
    );
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new GossipKeyError(
      `${file} is readable by group or others (mode ${mode.toString(8)}); chmod 600 it`,
    );
  return parseGossipKeyFile(text, file);
}

/** Writes `keys` (primary first) to `<dir>/gossip.key` with mode 0600. Returns the file. */
export function writeGossipKeyFile(dir: string, keys: readonly Uint8Array[]): string {
  if (keys.length === 0 || keys.length > MAX_GOSSIP_KEYS)
    throw new GossipKeyError(`a gossip key file holds 1..${MAX_GOSSIP_KEYS} keys`);
  const file = path.join(dir, GOSSIP_KEY_FILE);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const text = keys.map((k) => Buffer.from(k).toString('base64')).join('\n') + '\n';
  writeFileSync(file, text, { mode: GOSSIP_KEY_MODE });
  chmodSync(file, GOSSIP_KEY_MODE); // an overwritten file keeps its old mode otherwise
  return file;
}
