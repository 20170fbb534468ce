// Worker-thread entry for one setup or teardown hook: imports the workflow bundle, runs the
// hook with its own HTTP client and posts the outcome. Hooks run here and not on the main
// thread so that a hook that spins or hangs can be stopped (the thread is terminated) and
// a hook that calls process.exit() ends only this thread.
import { parentPort, workerData } from 'node:worker_threads';
import { HttpClient } from '../clients/http1/index.js';
import { closeClients, openClients, withClients } from '../clients/registry.js';
import { importWorkflows, userLocation } from '../engine/loader.js';
import { describeError } from '../errors.js';
import type { HookReply, HookRequest } from './hooks.js';
import { boundWorkerOutput } from './worker-output.js';

process.setSourceMapsEnabled(true);
const output = boundWorkerOutput();
const request = workerData as HookRequest;

async function runHook(): Promise<HookReply> {
  const workflows = await importWorkflows(request.bundle);
  const def = workflows.find((w) => w.definition.name === request.workflow)?.definition;
  const hook = request.hook === 'setup' ? def?.setup : def?.teardown;
  if (!def || !hook) {
    return {
      ok: false,
      message: `the bundle has no ${request.hook} hook for workflow '${request.workflow}'`,
      dropped: { ...output },
    };
  }
  const baseUrl = request.baseUrl ?? def.baseUrl;
  const http = new HttpClient({ baseUrl, headers: def.headers, timeoutMs: def.requestTimeoutMs });
  const clients = openClients({
    baseUrl,
    headers: def.headers,
    timeoutMs: def.requestTimeoutMs,
    vuId: 0,
  });
  try {
    const ctx = withClients(clients, { http, context: request.context, data: request.data });
    const value: unknown = await (request.hook === 'setup'
      ? def.setup?.run(ctx)
      : def.teardown?.run(ctx));
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      return {
        ok: false,
        message: `it returned a value that cannot be sent to worker threads (${describeError(error)})`,
        dropped: { ...output },
      };
    }
    return { ok: true, json, dropped: { ...output } };
  } catch (error) {
    const where = userLocation(error, request.bundle.source);
    return {
      ok: false,
      message: `${describeError(error)}${where ? ` (at ${where})` : ''}`,
      dropped: { ...output },
    };
  } finally {
    http.close();
    closeClients(clients);
  }
}

// A hook awaiting a promise that never settles leaves nothing pending: without this the
// thread would end early and look like process.exit(0). Its timeout ends it instead.
const keepAlive = setInterval(() => undefined, 60_000);
runHook()
  .then(
    (reply) => parentPort?.postMessage(reply),
    (error: unknown) =>
      parentPort?.postMessage({
        ok: false,
        message: describeError(error),
        dropped: { ...output },
      } satisfies HookReply),
  )
  .finally(() => clearInterval(keepAlive));
