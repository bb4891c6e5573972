/**
 * What a leased backend needs, in one place. A leased lock is one the server frees by itself once the holder has been
 * silent for a while (postgres: `idle_session_timeout`; etcd: the lease TTL), so it can be lost while this process
 * still believes it holds it. A new leased backend plugs in like this:
 *
 * 1. **Accounting**: keep a {@link LeaseClock}. Date every renewal by the *send* time of the request the server
 *    answered (`renewed(sentAt, sentAtWall)`); past `lateByMs() >= 0`, abort `BackendLock.lost` with LockLostError
 *    whether or not the server has acted, and implement `verify()` with the same check so `Lock.held`/`signal` answer
 *    synchronously after a stop.
 * 2. **A granted lock is live**: a grant that ended a wait was requested long ago, so renew once after the grant and
 *    date the lease from that renewal before `acquire` resolves (postgres: one `SELECT 1`). A session or lease the
 *    server ended while nothing was held yet is not a failure: start over.
 * 3. **`BackendLock.lease()`** reports `{ lostInMs, expiresInMs, fd }` from `LeaseClock.remaining()`: `lostInMs` until
 *    this process gives up, `expiresInMs` until the server may hand the lock on, and `fd` a descriptor whose close by
 *    the server means the lock is gone (postgres: the session's socket), or undefined when there is none (etcd: a
 *    lease lives on no single connection).
 * 4. **The CLI does the rest from `lease()` alone**: `onlyone run` starts the lease guard (src/cli/lease-guard.ts,
 *    src/guard/lease-guard.cts; its line protocol is documented at the top of the .cts), which kills the command's
 *    whole tree (src/guard/process-tree.cts) at the deadline if `onlyone` is stopped, at once if it dies, and, given
 *    an `fd`, as soon as the server closes it. Without an `fd` the guard works on the deadline alone.
 * @internal
 */
export { LeaseClock } from './lease-clock.js';
export type { Lease } from '../types.js';
