import { connect } from 'node:net';
import type { PgClient } from './driver.js';

/** Protocol constant of a CancelRequest (PostgreSQL frontend/backend protocol 3). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks the server to cancel the statement running on `client`'s session, on a separate connection, as libpq's
 * PQcancel does: the abandoned `pg_advisory_lock` leaves the wait queue at once. Best effort; never rejects.
 * @internal
 */
export function sendCancel(client: PgClient): Promise<void> {
  const { processID, secretKey, host, port } = client;
  if (processID === null || secretKey === null || host === undefined || port === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(processID, 8);
    packet.writeInt32BE(secretKey, 12);
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.end(packet));
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.unref();
  });
}
