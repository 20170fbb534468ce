// Owns `salvo cluster up`: a whole cluster (gates, managers, workers in N datacenters) as
// separate processes on loopback, with a CA and certificates made for it, each node's output in
// its own log file, the gate addresses and the submit command printed, and everything stopped on
// Ctrl-C. With `--restart`, a node that dies is started again (as a supervisor would), so its
// failure can be watched; `nodes.json` names every node's pid for whoever wants to kill one.
// The way to try distributed mode on one machine; never used by a production node.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, OptionError, type ExitCode } from '../errors.js';
import { recordHandled } from '../handled-errors.js';
import { createCa, createLeaf } from './certs.js';
import {
  dcName,
  nodeArgs,
  nodeCount,
  planCluster,
  type ClusterShape,
  type PlannedNode,
} from './cluster-layout.js';
import type { CliIo } from './main.js';

/** How long every node has to print its ready line. */
export const CLUSTER_READY_TIMEOUT_MS = 60_000;
/** After Ctrl-C, how long nodes have to stop before they are killed. */
export const CLUSTER_STOP_TIMEOUT_MS = 10_000;
/** The client certificate `cluster up` makes for the user. */
export const CLUSTER_CLIENT_NAME = 'you';
const HOST = '127.0.0.1';
/** Longest stdout line of a node read while waiting for its ready line. */
const MAX_READY_LINE_CHARS = 64 * 1024;

/** How long after a node died `--restart` starts it again. */
export const CLUSTER_RESTART_DELAY_MS = 1_000;

export interface ClusterUpOptions extends ClusterShape {
  readonly dir: string;
  readonly insecure: boolean;
  /** Start a node again when it exits while the cluster runs. */
  readonly restart?: boolean;
}

interface Running {
  readonly node: PlannedNode;
  child: ChildProcess;
  exited: boolean;
  restarts: number;
}

/** `nodes.json`: every node's role, datacenter, address and current pid. */
function writeNodesFile(dir: string, running: readonly Running[]): void {
  const file = path.join(dir, 'nodes.json');
  const nodes = running.map((r) => ({
    id: r.node.id,
    role: r.node.role,
    dc: r.node.dc,
    address: `${HOST}:${r.node.port}`,
    pid: r.exited ? null : (r.child.pid ?? null),
    restarts: r.restarts,
    log: path.join(dir, 'logs', `${r.node.id}.log`),
  }));
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ nodes }, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

function makeCertificates(dir: string, nodes: readonly PlannedNode[]): string {
  const certsDir = path.join(dir, 'certs');
  const caKey = path.join(dir, 'ca.key');
  mkdirSync(certsDir, { recursive: true });
  if (!existsSync(path.join(certsDir, 'ca.crt'))) createCa({ certsDir, caKey });
  for (const node of nodes) {
    if (existsSync(path.join(certsDir, `node.${node.id}.crt`))) continue;
    createLeaf({
      certsDir,
      caKey,
      id: node.id,
      role: node.role,
      datacenter: node.dc,
      hosts: [HOST],
    });
  }
  if (!existsSync(path.join(certsDir, `client.${CLUSTER_CLIENT_NAME}.crt`))) {
    createLeaf({ certsDir, caKey, id: CLUSTER_CLIENT_NAME, role: 'client' });
  }
  return certsDir;
}

/** The compiled `salvo` entry point, for the node processes. */
function salvoBin(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/salvo.js');
}

function waitReady(running: Running, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      reject(new OptionError(`${running.node.id} did not start within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    running.child.stdout?.on('data', (chunk: Buffer) => {
      buffered = (buffered + chunk.toString('utf8')).slice(-MAX_READY_LINE_CHARS);
      if (buffered.includes('"event":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    running.child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new OptionError(
          `${running.node.id} exited before it was ready (${signal ?? `code ${code}`}); see its log`,
        ),
      );
    });
  });
}

function stopAll(all: readonly Running[]): Promise<void> {
  const alive = all.filter((r) => !r.exited);
  for (const r of alive) r.child.kill('SIGTERM');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const r of alive) if (!r.exited) r.child.kill('SIGKILL');
      resolve();
    }, CLUSTER_STOP_TIMEOUT_MS);
    const check = (): void => {
      if (alive.every((r) => r.exited)) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const r of alive) r.child.once('exit', check);
    check();
  });
}

/** Starts the cluster, prints how to use it, and runs until Ctrl-C (or every node exits). */
export async function clusterUp(o: ClusterUpOptions, io: CliIo): Promise<ExitCode> {
  const started = Date.now();
  const ports = await freePorts(nodeCount(o));
  const nodes = planCluster(o, ports);
  const dir = path.resolve(o.dir);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const certsDir = o.insecure ? undefined : makeCertificates(dir, nodes);
  const dcs = Array.from({ length: o.dcs }, (_, i) => dcName(i));
  io.stdout.write(
    `salvo cluster up: ${o.dcs} datacenter${o.dcs === 1 ? '' : 's'} (${dcs.join(', ')}), ${o.gates} gate${o.gates === 1 ? '' : 's'}, ` +
      `${o.managersPerDc} manager${o.managersPerDc === 1 ? '' : 's'} and ${o.workersPerDc} worker${o.workersPerDc === 1 ? '' : 's'} (${o.workerCores} core${o.workerCores === 1 ? '' : 's'} each) per datacenter\n` +
      `  files: ${dir} (certificates in certs/, node logs in logs/)\n`,
  );
  const running: Running[] = [];
  let stopping = false;
  const launch = (r: Running): void => {
    const args = nodeArgs(r.node, nodes, {
      host: HOST,
      certsDir,
      dataDir: path.join(dir, 'data'),
      workerCores: o.workerCores,
    });
    const log = createWriteStream(path.join(dir, 'logs', `${r.node.id}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [salvoBin(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.child = child;
    r.exited = false;
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.once('exit', (code, signal) => {
      r.exited = true;
      io.stderr.write(
        `  ${r.node.id} exited (${signal ?? `code ${code}`}); see logs/${r.node.id}.log\n`,
      );
      writeNodesFile(dir, running);
      if (o.restart !== true || stopping) return;
      setTimeout(() => {
        if (stopping) return;
        r.restarts++;
        io.stderr.write(`  ${r.node.id} restarting (restart ${r.restarts})\n`);
        launch(r);
        writeNodesFile(dir, running);
      }, CLUSTER_RESTART_DELAY_MS);
    });
    child.once('error', (error) => {
      recordHandled('cluster-up.spawn', error);
      io.stderr.write(`  ${r.node.id} could not start: ${error.message}\n`);
    });
  };
  for (const node of nodes) {
    // `launch` gives the record its child before anything reads it.
    const r = { node, exited: false, restarts: 0 } as Running;
    launch(r);
    running.push(r);
  }
  writeNodesFile(dir, running);
  try {
    let ready = 0;
    await Promise.all(
      running.map((r) =>
        waitReady(r, CLUSTER_READY_TIMEOUT_MS).then(() => {
          ready++;
          if (io.stdout.isTTY) io.stdout.write(`\r  starting: ${ready}/${running.length} ready`);
        }),
      ),
    );
  } catch (error) {
    io.stderr.write(`\nsalvo cluster up: ${(error as Error).message}; stopping the cluster\n`);
    stopping = true;
    await stopAll(running);
    return EXIT.runFailed;
  }
  const gates = nodes.filter((n) => n.role === 'gate');
  const first = gates[0];
  io.stdout.write(
    `\r  ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n` +
      gates.map((g) => `  ${g.id}  ${g.dc}  ${HOST}:${g.port}\n`).join('') +
      `\nSubmit a workflow:\n` +
      `  salvo submit examples/quickstart.ts --gate ${HOST}:${first?.port ?? 0} ` +
      (certsDir === undefined
        ? '--insecure'
        : `--certs-dir ${certsDir} --client ${CLUSTER_CLIENT_NAME}`) +
      ` --watch\n\n` +
      `  nodes and pids: ${path.join(dir, 'nodes.json')}` +
      (o.restart === true ? '; a node that dies is restarted\n' : '\n') +
      `\nCtrl-C stops the cluster.\n`,
  );
  await new Promise<void>((resolve) => {
    const onSignal = (): void => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const check = (): void => {
      if (o.restart !== true && running.every((r) => r.exited)) resolve();
    };
    for (const r of running) r.child.once('exit', check);
  });
  stopping = true;
  io.stdout.write('stopping the cluster…\n');
  await stopAll(running);
  return EXIT.interrupted;
}
