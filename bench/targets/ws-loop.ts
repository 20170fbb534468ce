// The plain `ws` client loop the WebSocket bench row compares Salvo with: `connections` lanes,
// each connecting, sending a message and awaiting its echo `perConnection` times, closing, and
// starting over until `seconds` have passed. Prints one JSON line: messages, seconds, errors.
// `node dist/bench/targets/ws-loop.js <url> <connections> <seconds> <perConnection>`
import WebSocket from 'ws';

const [url = '', connectionsText = '100', secondsText = '10', perText = '100'] =
  process.argv.slice(2);
const connections = Number(connectionsText);
const seconds = Number(secondsText);
const perConnection = Number(perText);
const PAYLOAD = JSON.stringify({ hello: 'salvo' });

let messages = 0;
let errors = 0;
const started = performance.now();
const deadline = started + seconds * 1000;

function session(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let sent = 0;
    const next = (): void => {
      if (sent >= perConnection || performance.now() >= deadline) {
        ws.close(1000);
        return;
      }
      sent++;
      ws.send(PAYLOAD);
    };
    ws.on('open', next);
    ws.on('message', () => {
      messages++;
      next();
    });
    ws.on('error', () => {
      errors++;
      ws.terminate();
    });
    ws.on('close', () => resolve());
  });
}

async function lane(): Promise<void> {
  while (performance.now() < deadline) await session();
}

await Promise.all(Array.from({ length: connections }, () => lane()));
const elapsed = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ messages, seconds: elapsed, errors })}\n`);
