// Owns reading a node's --config file: one JSON object whose keys are the node's settings in
// camelCase (`certsDir`, `listen`, `peers`…), bounded in size, with errors naming the file.

import { readFileSync } from 'node:fs';
import { OptionError } from '../errors.js';

/** Largest --config file read. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.byteLength > MAX_CONFIG_FILE_BYTES) {
      throw new OptionError(`--config ${file}: larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof OptionError) throw error;
    throw new OptionError(`--config ${file}: cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OptionError(`--config ${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OptionError(`--config ${file}: must hold a JSON object of settings`);
  }
  return parsed as Record<string, unknown>;
}
