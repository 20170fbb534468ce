// The built-in fixed-response target: a node:net server answering every HTTP/1.1 request
// with the same keep-alive 200 "ok", used by `npm run bench` when nginx is not installed.
// Run as its own process: `node dist/bench/targets/fixed.js [port]`; prints `listening <port>`.
import { createServer, type Socket } from 'node:net';
import { countRequests, listenAndAnnounce } from './wire.js';

const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: salvo-bench\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n' +
    'Connection: keep-alive\r\n\r\nok',
  'latin1',
);
/** Pre-built runs of 1..MAX_BATCH responses, so a pipelined burst is one write. */
const MAX_BATCH = 64;
const batches: Buffer[] = [];
for (let n = 1; n <= MAX_BATCH; n++) batches.push(Buffer.concat(Array(n).fill(RESPONSE)));

function answer(socket: Socket, n: number): void {
  let left = n;
  while (left > 0) {
    const k = Math.min(left, MAX_BATCH);
    const batch = batches[k - 1];
    if (batch) socket.write(batch);
    left -= k;
  }
}

const server = createServer({ noDelay: true }, (socket) => {
  const counter = countRequests();
  socket.on('data', (chunk: Buffer) => {
    const n = counter(chunk);
    if (n > 0) answer(socket, n);
  });
  socket.on('error', (error) => {
    void error; // a generator closing its connections mid-write is normal at the end of a run
    socket.destroy();
  });
});
listenAndAnnounce(server, process.argv[2]);
