// What the private servers of the tests (postgres-server.mjs, etcd-server.mjs) share: a free loopback port, and the
// rule for a missing server: skip with the reason printed, except in CI, where it is an error.
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `why` the `kind` tests cannot run, printed as a SKIP line and returned; with CI=true, thrown instead. */
export function unavailable(kind, why) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${why}`);
  process.stderr.write(`# SKIP ${kind} tests: ${why}\n`);
  return why;
}
