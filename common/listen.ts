import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on host:port and resolves with the port it got (port 0: the one the system chose);
 * rejects with the listen error (EADDRINUSE, EACCES) instead of letting it reach 'error'.
 */
export function listenOn(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
