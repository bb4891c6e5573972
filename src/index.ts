export { acquire, tryAcquire, withLock, status, statusSlots, list, lastRun } from './api.js';
export { send, type SendOptions } from './client/send.js';
export { requestRerun, type RerunOptions, type RerunResult } from './client/rerun.js';
export type { PendingRerun, RerunRequest } from './holder/reruns.js';
export { stop, type StopOptions, type StopOutcome } from './stop.js';
export { Lock } from './lock.js';
export { DEFAULT_PREFIX, SUN_PATH_BYTES, abstractAddress as lockAddress, printableAddress, type Scope } from './address.js';
export type { AcquireOptions, StatusOptions, LockOptions, BackendName, ReplaceOptions } from './options.js';
export type { PostgresOptions } from './backends/postgres/options.js';
export type { EtcdOptions } from './backends/etcd/options.js';
export type { ScheduleOptions } from './once-per/options.js';
export type { RunRecord, RunExit } from './once-per/record.js';
export type { RunWindow } from './once-per/window.js';
export type { Lease } from './backends/types.js';
export type { Holder } from './holder/types.js';
export type { IncomingMessage, MessageHandler, PeerIdentity } from './holder/messages.js';
export { PROTOCOL_VERSION } from './protocol/frames.js';
export {
  OnlyoneError,
  LockBusyError,
  LockTimeoutError,
  LockLostError,
  LockReleasedError,
  LockSquattedError,
  AlreadyRanError,
  InvalidLockNameError,
  InvalidOptionError,
  ProtocolError,
  RemoteError,
  UnsupportedError,
  BackendError,
  OsError,
  NotHeldError,
  MessageTooLargeError,
  InvalidMessageError,
  SendTimeoutError,
  type ForwardOptions,
  type OnlyoneErrorCode,
} from './errors.js';
