import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { BackendError } from '../../errors.js';
import { parseRecord, type RunExit, type RunRecord } from '../../once-per/record.js';
import type { RunLedger } from '../types.js';
import type { LockfilePaths } from './paths.js';

/** `NAME.runs`: the last run's record (JSON). `NAME.clock`: written to read the file system's clock. */
const RUNS_SUFFIX = '.runs';
const CLOCK_SUFFIX = '.clock';

function sibling(paths: LockfilePaths, suffix: string): string {
  return paths.lock.slice(0, -'.lock'.length) + suffix;
}

/**
 * The file system's clock: the mtime the kernel gives a file when it is written. On a local directory that is
 * the clock of the machine that owns it; on NFS the server sets it. Never this process's `Date.now()`, which
 * may be skewed (or, under libfaketime, faked) differently on every host that shares the directory.
 */
function fileSystemNow(paths: LockfilePaths): number {
  const file = sibling(paths, CLOCK_SUFFIX);
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    throw new BackendError(`Cannot open ${file} to read the file system's clock: ${(error as Error).message}`, { cause: error });
  }
  try {
    writeSync(fd, Buffer.from('\n'), 0, 1, 0);
    return fstatSync(fd).mtimeMs;
  } finally {
    closeSync(fd);
  }
}

/** The last run recorded for the lock at `paths`; undefined when it never ran with `oncePer`. @internal */
export function readLastRun(paths: LockfilePaths): RunRecord | undefined {
  const file = sibling(paths, RUNS_SUFFIX);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BackendError(`Cannot read the run record ${file}: ${(error as Error).message}`, { cause: error });
  }
  let record: RunRecord | undefined;
  try {
    record = parseRecord(JSON.parse(text));
  } catch {
    record = undefined;
  }
  // A damaged record must not read as "never ran": that would run the job twice in a window.
  if (record === undefined) throw new BackendError(`The run record ${file} is damaged; delete it to let the next run start`);
  return record;
}

/** Writes the record to a temporary file and renames it over the old one, so readers never see half a record. */
function writeRecord(paths: LockfilePaths, record: RunRecord): void {
  const file = sibling(paths, RUNS_SUFFIX);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(record)}\n`, { mode: 0o600, flag: 'w' });
    renameSync(temporary, file);
  } catch (error) {
    throw new BackendError(`Cannot write the run record ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The run records of a lockfile lock this process holds. Only the flock's holder writes them, so reading,
 * deciding and writing need no further locking.
 * @internal
 */
export function lockfileLedger(paths: LockfilePaths): RunLedger {
  return {
    async read() {
      return { now: fileSystemNow(paths), last: readLastRun(paths) };
    },
    async start(record: RunRecord) {
      writeRecord(paths, record);
    },
    async end(record: RunRecord, exit: RunExit) {
      const ended = { ...record, endedAt: fileSystemNow(paths), exit };
      writeRecord(paths, ended);
      return ended;
    },
  };
}
