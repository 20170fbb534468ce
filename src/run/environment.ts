// Owns what a results document records about where it was computed: the run id, Node's version
// and the host. `salvo run` takes this machine's; a gate may pass the job's own.
import { cpus, hostname } from 'node:os';

export interface RunEnvironment {
  nodeVersion: string;
  host: { platform: string; arch: string; cpus: number; hostname: string };
}

export function localEnvironment(): RunEnvironment {
  return {
    nodeVersion: process.version,
    host: {
      platform: process.platform,
      arch: process.arch,
      cpus: cpus().length,
      hostname: hostname(),
    },
  };
}

/** A local run's id: its start time and this process, in base 36. */
export function localRunId(startedAtMs: number): string {
  return `${startedAtMs.toString(36)}-${process.pid.toString(36)}`;
}
