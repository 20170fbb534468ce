// Bytes the HTTP/1.1 client allocates per request, by allocating function: V8's sampling heap
// profiler (objects the GC already collected included) over N requests on 50 clients. Unlike
// CPU time, this does not change when other processes share the core. Not part of npm test.
//   node dist/bench/profile/alloc.js URL [promise|cb] [N]
import { Session } from 'node:inspector/promises';
import { HttpClient } from '../../src/clients/http1/index.js';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const CLIENTS = 50;
const WARM_UP_REQUESTS = 20_000;
const [url, mode = 'promise', n = '50000'] = process.argv.slice(2);
if (url === undefined || (mode !== 'promise' && mode !== 'cb')) {
  throw new Error('usage: alloc.js URL [promise|cb] [N]');
}
const total = Number(n);
const clients = Array.from({ length: CLIENTS }, () => new HttpClient({ baseUrl: url }));

/** Runs `count` GET / requests, CLIENTS at a time, each client starting its next on a response. */
function run(count: number): Promise<void> {
  let started = 0;
  let done = 0;
  return new Promise((resolve) => {
    const next = (client: HttpClient): void => {
      if (started >= count) {
        if (done === count) resolve();
        return;
      }
      started++;
      const settled = (): void => {
        done++;
        next(client);
      };
      if (mode === 'cb') client.requestCb('GET', '/', undefined, settled);
      else client.get('/').then(settled, settled);
    };
    for (const client of clients) next(client);
  });
}

await run(WARM_UP_REQUESTS);
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 64,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await run(total);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
  profile: { head: HeapNode };
};
const bySite = new Map<string, number>();
const walk = (node: HeapNode): void => {
  const cf = node.callFrame;
  const where = `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(dist|node_modules)\//, '')}:${cf.lineNumber + 1}`;
  if (node.selfSize > 0) bySite.set(where, (bySite.get(where) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
};
walk(profile.head);
let bytes = 0;
for (const b of bySite.values()) bytes += b;
console.log(`${mode}: ${(bytes / total).toFixed(0)} bytes allocated per request (sampled)`);
for (const [where, b] of [...bySite].sort((x, y) => y[1] - x[1]).slice(0, 15)) {
  console.log(`${(b / total).toFixed(0).padStart(6)} B  ${where}`);
}
for (const client of clients) client.close();
session.disconnect();
