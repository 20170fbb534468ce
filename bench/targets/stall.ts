// The stalling target of the coordinated-omission check: answers every request at once with a
// keep-alive 200 "ok", except that it holds ALL responses for STALL_MS every PERIOD_MS (the
// first stall begins FIRST_STALL_MS after the first request), then answers the held ones.
// Run as its own process: `node dist/bench/targets/stall.js [port]`; prints `listening <port>`.
import { createServer, type Socket } from 'node:net';
import { countRequests, listenAndAnnounce } from './wire.js';

const PERIOD_MS = 5000;
const STALL_MS = 1000;
const FIRST_STALL_MS = 2000;
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: salvo-bench-stall\r\nContent-Type: text/plain\r\n' +
    'Content-Length: 2\r\nConnection: keep-alive\r\n\r\nok',
  'latin1',
);

let stalled = false;
let started = false;
/** Responses owed per connection while stalled. */
const held = new Map<Socket, number>();

function answer(socket: Socket, n: number): void {
  if (socket.destroyed) return;
  for (let i = 0; i < n; i++) socket.write(RESPONSE);
}

function release(): void {
  stalled = false;
  for (const [socket, n] of held) answer(socket, n);
  held.clear();
}

function startCycle(): void {
  started = true;
  const stall = (): void => {
    stalled = true;
    setTimeout(release, STALL_MS).unref();
  };
  setTimeout(() => {
    stall();
    setInterval(stall, PERIOD_MS).unref();
  }, FIRST_STALL_MS).unref();
}

const server = createServer({ noDelay: true }, (socket) => {
  const counter = countRequests();
  socket.on('data', (chunk: Buffer) => {
    const n = counter(chunk);
    if (n === 0) return;
    if (!started) startCycle();
    if (stalled) held.set(socket, (held.get(socket) ?? 0) + n);
    else answer(socket, n);
  });
  socket.on('close', () => held.delete(socket));
  socket.on('error', (error) => {
    void error; // a generator closing its connections mid-write is normal at the end of a run
    socket.destroy();
  });
});
listenAndAnnounce(server, process.argv[2]);
