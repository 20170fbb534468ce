// The machine description written with every bench run: CPUs, memory, kernel, Node, the
// versions of every tool compared, and how pinning and resource measurement were done.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, platform, arch } from 'node:os';
import { join } from 'node:path';
import { usageMethod, taskset, which } from './proc.js';
import { nginxVersion } from './targets.js';

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  kernel: string;
  platform: string;
  node: string;
  salvo: string;
  autocannon: string | null;
  wrk: string | null;
  nginx: string | null;
  pinning: string;
  usageMethod: string;
  loadAverageAtStart: number[] | null;
}

function packageVersion(dir: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch (error) {
    void error; // not installed: reported as null
    return null;
  }
}

function wrkVersion(): string | null {
  const wrk = which('wrk');
  if (wrk === null) return null;
  const out = spawnSync(wrk, ['-v'], { encoding: 'utf8', timeout: 5000 });
  const match = /wrk (\S+)/.exec(`${out.stdout}${out.stderr}`);
  return match?.[1] ?? 'unknown';
}

function loadAverage(): number[] | null {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).slice(0, 3).map(Number);
  } catch (error) {
    void error; // no /proc: not Linux
    return null;
  }
}

export function describeMachine(root: string, targetCpu?: number, generatorCpu?: number): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    platform: `${platform()}-${arch()}`,
    node: process.version,
    salvo: packageVersion(root) ?? 'unknown',
    autocannon: packageVersion(join(root, 'node_modules', 'autocannon')),
    wrk: wrkVersion(),
    nginx: nginxVersion(),
    pinning:
      targetCpu !== undefined && generatorCpu !== undefined && taskset() !== null
        ? `target on cpu ${targetCpu}, generators on cpu ${generatorCpu} (taskset)`
        : 'none (fewer than 2 cores or no taskset)',
    usageMethod: usageMethod().method,
    loadAverageAtStart: loadAverage(),
  };
}
