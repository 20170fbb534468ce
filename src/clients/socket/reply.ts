// What a TCP read or a UDP receive hands back: the bytes and how long the caller waited.
import { ClientError, parseJson } from '../client.js';

export class SocketReply {
  constructor(
    readonly data: Buffer,
    /** From the read (or request) call to the bytes' arrival. */
    readonly waitMs: number,
    private readonly protocol: 'tcp' | 'udp',
  ) {}
  text(): string {
    return this.data.toString('utf8');
  }
  json<T = unknown>(): T {
    return parseJson<T>(this.text(), this.protocol, 'bad_message', 'reply');
  }
}

/** `tcp://host:port` / `udp://host:port` (or `host:port`) → host and port. */
export function parseSocketAddress(
  protocol: 'tcp' | 'udp',
  address: string,
  base: string | undefined,
): { host: string; port: number; tls: boolean } {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `${protocol}://${address}`);
  } catch (error) {
    throw new ClientError(
      protocol,
      'bad_request',
      `invalid address ${JSON.stringify(address)}`,
      address,
      {
        cause: error,
      },
    );
  }
  const allowed = protocol === 'tcp' ? ['tcp:', 'tls:'] : ['udp:'];
  if (!allowed.includes(url.protocol)) {
    throw new ClientError(
      protocol,
      'bad_request',
      `unsupported scheme ${url.protocol} (use ${allowed.map((s) => `${s}//`).join(' or ')})`,
      address,
    );
  }
  const host = (url.hostname || (base ? new URL(base).hostname : '')).replace(/^\[|\]$/g, '');
  const port = Number(url.port);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ClientError(protocol, 'bad_request', 'the address needs a host and a port', address);
  }
  return { host, port, tls: url.protocol === 'tls:' };
}
