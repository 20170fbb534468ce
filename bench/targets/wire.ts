// Shared by the bench targets: counting request heads in a byte stream (every request the
// generators send is a GET without a body, so each ends at CRLFCRLF) and listening on loopback.
import type { Server } from 'node:net';

/** Returns a counter fed with each chunk of one connection; yields the complete heads in it. */
export function countRequests(): (chunk: Buffer) => number {
  // How many bytes of "\r\n\r\n" the previous chunk ended with (0..3).
  let matched = 0;
  return (chunk: Buffer): number => {
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 13) matched = matched === 2 ? 3 : 1;
      else if (c === 10 && (matched === 1 || matched === 3)) {
        if (matched === 3) {
          n++;
          matched = 0;
        } else matched = 2;
      } else matched = 0;
    }
    return n;
  };
}

/** Listens on 127.0.0.1 (port from argv, 0 = free) and prints `listening <port>` for the parent. */
export function listenAndAnnounce(server: Server, portArg: string | undefined): void {
  const port = portArg === undefined ? 0 : Number(portArg);
  server.on('error', (error) => {
    console.error(`target: ${error.message}`);
    process.exit(1);
  });
  server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    console.log(`listening ${bound}`);
  });
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
