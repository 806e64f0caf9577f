/** The HTTPS listener, with the one thing a plain server lacks here: a live certificate swap. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Leaf } from './cert.ts';

export interface TlsListener {
  readonly port: number;
  /** New connections see `leaf`; idle kept-alive ones are closed so clients handshake again. */
  setCertificate(leaf: Leaf): void;
  close(): Promise<void>;
}

export async function listenTls(
  host: string,
  port: number,
  leaf: Leaf,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsListener> {
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, handler);
  // Every raw socket, handshake finished or not: closeAllConnections() knows only those
  // whose handshake is done, and one mid-handshake at close would go on serving after it.
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    if (closing) return socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the dev agent is not listening on a TCP port');
  return {
    port: address.port,
    setCertificate(next: Leaf) {
      // Fresh ticket keys: a client resuming a session would otherwise skip the new certificate.
      server.setSecureContext({ cert: next.certPem, key: next.keyPem, ticketKeys: randomBytes(48) });
      server.closeIdleConnections();
    },
    close() {
      closing = true;
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Hung requests (an injected fault) and kept-alive sockets would hold close() forever.
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
