// A bare node:http2 client loop, the reference the HTTP/2 bench row shows beside Salvo and
// h2load: `connections` sessions with `streams` requests in flight on each, each completed
// stream starting the next, until `seconds` have passed. The ceiling of a client built on
// node:http2 on this machine. Prints one JSON line: requests, seconds, errors.
// `node dist/bench/targets/h2-loop.js <url> <connections> <streams> <seconds>`
import * as http2 from 'node:http2';

const [url = '', connectionsText = '100', streamsText = '1', secondsText = '10'] =
  process.argv.slice(2);
const connections = Number(connectionsText);
const streams = Number(streamsText);
const seconds = Number(secondsText);
const path = new URL(url).pathname;

let requests = 0;
let errors = 0;
let stopping = false;

function next(session: http2.ClientHttp2Session): void {
  if (stopping || session.destroyed) return;
  const stream = session.request({ ':path': path });
  stream.on('response', () => undefined);
  stream.on('data', () => undefined);
  stream.on('end', () => {
    requests++;
    next(session);
  });
  stream.on('error', () => {
    errors++;
    next(session);
  });
}

const sessions = Array.from({ length: connections }, () => http2.connect(url));
for (const s of sessions) s.on('error', () => errors++);
await Promise.all(sessions.map((s) => new Promise((r) => s.once('connect', r))));
const started = performance.now();
for (const s of sessions) for (let i = 0; i < streams; i++) next(s);
await new Promise((r) => setTimeout(r, seconds * 1000));
stopping = true;
const elapsed = (performance.now() - started) / 1000;
console.log(JSON.stringify({ requests, seconds: elapsed, errors }));
for (const s of sessions) s.destroy();
